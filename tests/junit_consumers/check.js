#!/usr/bin/env node
// Parse junit.xml files with real consumers and print what they count, as JSON on stdout:
//   node check.js a.xml [b.xml ...]
// For each file: test-results-parser's totals (it trusts attributes) and its per-case statuses
// (from the elements). Then all files merged by junit-report-merger (as CI merges shards) and the
// merged file parsed again. Exit 1 when a consumer throws: that is a finding, not a crash here.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parse } = require('test-results-parser');
const { mergeToString } = require('junit-report-merger');

function counts(file) {
  const r = parse({ type: 'junit', files: [file] });
  const cases = { pass: 0, fail: 0, skip: 0 };
  for (const s of r.suites)
    for (const c of s.cases) {
      if (c.status === 'PASS') cases.pass++;
      else if (c.status === 'FAIL') cases.fail++;
      else if (c.status === 'SKIP') cases.skip++;
    }
  // Numbers, not the strings some attributes parse to, so the caller can compare with ==.
  const n = (v) => Number(v);
  return {
    totals: { total: n(r.total), passed: n(r.passed), failed: n(r.failed), errors: n(r.errors), skipped: n(r.skipped) },
    cases,
    suites: r.suites.length,
  };
}

async function main() {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node check.js junit.xml [more.xml ...]');
    process.exit(2);
  }
  const out = { files: [] };
  for (const f of files) out.files.push({ file: f, ...counts(f) });
  const merged = await mergeToString(files.map((f) => fs.readFileSync(f, 'utf8')));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hx-junit-merge-'));
  const mf = path.join(tmp, 'merged.xml');
  try {
    fs.writeFileSync(mf, merged);
    out.merged = counts(mf);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  console.error(`check.js: a JUnit consumer failed: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
