#!/usr/bin/env node
// Open each report.html in headless Chromium with the network cut off and check what a reader
// would see: no request leaves the page, no console or page error, the verdict, one section per
// scenario of run.json, every chart, hostile strings shown as text and never as markup. Compare
// pages (`harness compare --html`) likewise: both verdicts, a section per scenario of either run,
// the flipped checks, the overall deltas coloured by direction, the bar pairs; and once more with
// JavaScript off.
//   node browser.test.js RUN.json REPORT.html [...] [--compare BASE.json HEAD.json PAGE.html ...]
// env: HX_CHROMIUM (default /usr/bin/chromium), HX_ARTIFACTS (screenshot folder, default cwd).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const url = require('url');
const { chromium } = require('playwright-core');

const executablePath = process.env.HX_CHROMIUM || '/usr/bin/chromium';
const artifacts = process.env.HX_ARTIFACTS || process.cwd();
const jobs = [];
for (let a = process.argv.slice(2); a.length;) {
  if (a[0] === '--compare' && a.length >= 4) {
    jobs.push({ base: a[1], head: a[2], html: a[3] });
    a = a.slice(4);
  } else if (a[0] !== '--compare' && a.length >= 2) {
    jobs.push({ run: a[0], html: a[1] });
    a = a.slice(2);
  } else {
    jobs.length = 0;
    break;
  }
}
if (jobs.length === 0) {
  console.error('usage: browser.test.js RUN.json REPORT.html [...] [--compare BASE.json HEAD.json PAGE.html ...]');
  process.exit(2);
}

// What the page must show, computed from run.json independently of the C writer.
function expectations(run) {
  let hist = 0, resources = 0, cost = 0, timelines = 0;
  for (const sc of run.scenarios) {
    if ((sc.timeline || []).length) timelines++;
    hist += (sc.histograms || []).length;
    if (sc.resources && (sc.resources.series || []).length) resources++;
    for (const c of sc.cost || []) if ((c.lines || []).length) cost++;
  }
  return { scenarios: run.scenarios.map((s) => s.name), hist, resources, cost, timelines };
}

// Text as the page shows it after the writer's replacements (controls, CR, invalid UTF-8).
function visible(s) {
  return s.replace(/\r\n/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffe\uffff\r]/g, '\ufffd');
}

// Open htmlPath with every other request aborted (and counted), console and page errors
// collected; with script false, JavaScript is off for the page.
async function open(context, htmlPath, fail, script = true) {
  const fileUrl = url.pathToFileURL(path.resolve(htmlPath)).href;
  const page = await context.newPage();
  const blocked = [];
  const consoleErrors = [];
  const pageErrors = [];
  if (!script) await (await context.newCDPSession(page)).send('Emulation.setScriptExecutionDisabled', { value: true });
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u === fileUrl) return route.continue();
    blocked.push(u);
    return route.abort();
  });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const t0 = process.hrtime.bigint();
  await page.goto(fileUrl, { waitUntil: 'load' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const settled = () => {
    if (blocked.length) fail(`${blocked.length} request(s) left the page: ${blocked.slice(0, 3).join(', ')}`);
    if (consoleErrors.length) fail(`console errors: ${consoleErrors.join(' | ')}`);
    if (pageErrors.length) fail(`page errors: ${pageErrors.join(' | ')}`);
  };
  return { page, ms, settled };
}

// Elements only injected markup could create.
const INJECTED = 'img, iframe, object, embed, a[href], [onerror], [onload], [onclick], x, link, meta[http-equiv="refresh"]';

// Section names must be the scenario names as the page shows them (a long name is cut, "…").
function expectNames(fail, shown, want) {
  if (shown.length !== want.length) fail(`${shown.length} scenario sections, want ${want.length}`);
  want.forEach((s, i) => {
    if (!shown[i] || shown[i] !== visible(s).slice(0, shown[i].length))
      fail(`scenario ${i}: section shows ${JSON.stringify((shown[i] || '').slice(0, 60))}`);
  });
}

// The page's one script is its own and ran; nothing the runs carry became markup (json: their
// text, where a hostile '<script>' must show up as text).
function expectInert(fail, dom, json) {
  if (dom.scripts !== 1) fail(`${dom.scripts} script elements, the page has exactly one of its own`);
  if (dom.injected) fail(`${dom.injected} element(s) that only injected markup could create`);
  if (!dom.controlsShown) fail('the script did not run (controls still hidden)');
  if (json.includes('<script>') && !dom.text.includes('<script>')) fail("hostile '<script>' text is not shown as text");
}

// The optional filter works on the DOM the writer produced: checked, every "ok" row is hidden.
async function expectFilter(page, fail) {
  await page.check('#only-failed');
  const hiddenOk = await page.evaluate(() =>
    Array.from(document.querySelectorAll('tr.ok')).every((tr) => getComputedStyle(tr).display === 'none'));
  if (!hiddenOk) fail('the filter left "ok" rows visible');
  await page.uncheck('#only-failed');
}

// The word the page heads an unfinished run with, from run.json: never "pass" for a run that was
// interrupted, hit an error outside its scenarios, or did not finish.
function outcome(run) {
  if (run.interrupted || run.exit_code === 130) return 'interrupted';
  if (run.error || ((run.exit_code === 2 || run.exit_code === 3) && run.verdict !== 'error')) return 'error';
  if (run.partial) return 'partial';
  return run.verdict;
}

// What needs a look stands out, as a reader sees it: the heading says what the run is; every
// scenario that did not pass, or that has a limit that was not measured, is open; every failing
// check, threshold and solution invocation row is highlighted (a background no passing row has);
// no status cell wraps its word over two lines; the CPU axis never claims more than cores x 100 %.
async function expectAttention(page, fail, run) {
  const seen = await page.evaluate(() => {
    const bg = (el) => getComputedStyle(el.cells[0]).backgroundColor;
    const lines = (el) => {
      const r = document.createRange();
      r.selectNodeContents(el);
      return new Set(Array.from(r.getClientRects()).map((x) => Math.round(x.top))).size;
    };
    return {
      outcome: document.getElementById('verdict').dataset.outcome,
      word: document.querySelector('#verdict .word').textContent,
      open: Array.from(document.querySelectorAll('details.scenario')).map((d) => d.open),
      rows: Array.from(document.querySelectorAll('details.scenario')).map((d) => ({
        checks: Array.from(d.querySelectorAll('table.checks tr.check')).map((tr) => ({ bg: bg(tr), cls: tr.className })),
        thresholds: Array.from(d.querySelectorAll('table.thresholds tr.threshold')).map((tr) => ({ bg: bg(tr), cls: tr.className })),
        invocations: Array.from(d.querySelectorAll('table.invocations tr.invocation')).map((tr) => ({ bg: bg(tr), cls: tr.className })),
      })),
      wrapped: Array.from(document.querySelectorAll('td.status')).filter((td) => td.textContent.trim() && lines(td) > 1)
        .map((td) => td.textContent),
      cpuTop: Array.from(document.querySelectorAll('svg[data-chart="resources"] text'))
        .map((t) => t.textContent).filter((t) => /^[0-9.]+ %$/.test(t)).map((t) => parseFloat(t)),
    };
  });
  const want = outcome(run);
  if (seen.outcome !== want || seen.word !== want) fail(`heading says ${seen.word} (${seen.outcome}), the run is ${want}`);
  const failing = (c) => c.status === 'error' || (c.status === 'fail' && c.severity !== 'warn');
  const invFailed = (i) => i.exit_code !== 0 || !!i.signal || !!i.timed_out;
  run.scenarios.forEach((sc, k) => {
    const needsLook = sc.status !== 'pass' || (sc.thresholds || []).some((t) => t.status === 'skip');
    if (needsLook && !seen.open[k]) fail(`scenario ${k} (${sc.status}) is folded away`);
    if (!needsLook && seen.open[k]) fail(`scenario ${k} passed and is open`);
    const rows = seen.rows[k];
    const passBg = new Set([...rows.checks, ...rows.thresholds, ...rows.invocations]
      .filter((r) => / ok$|^check ok|^threshold ok|^invocation ok/.test(r.cls)).map((r) => r.bg));
    const expectBad = (label, list, flags) => flags.forEach((bad, i) => {
      const r = list[i];
      if (!r) return fail(`scenario ${k}: ${label} ${i} has no row`);
      if (bad && (!/\bbad\b/.test(r.cls) || passBg.has(r.bg) || r.bg === 'rgba(0, 0, 0, 0)'))
        fail(`scenario ${k}: failing ${label} ${i} is not highlighted (${r.cls}, ${r.bg})`);
      if (!bad && /\bbad\b/.test(r.cls)) fail(`scenario ${k}: ${label} ${i} is marked failing`);
    });
    expectBad('check', rows.checks, (sc.checks || []).map(failing));
    expectBad('threshold', rows.thresholds, (sc.thresholds || []).map((t) => t.status === 'fail'));
    expectBad('invocation', rows.invocations, (sc.invocations || []).map(invFailed));
  });
  if (seen.wrapped.length) fail(`status cells wrap: ${JSON.stringify(seen.wrapped.slice(0, 3))}`);
  const cores = (run.machine || {}).cores || 0;
  for (const v of seen.cpuTop) if (cores > 0 && v > cores * 100) fail(`the CPU axis shows ${v} % on ${cores} cores`);
}

// A service scenario's stream timeline (run.json `timeline`, one point a second) is drawn in its
// own section: records in and outputs out, and the p99 of both latency views, one vertex a second
// that has the value; the legend names both views; and the second where the corrected p99 peaks
// (a stall) is the highest vertex of the corrected line, where the uncorrected line stays lower.
async function expectTimelines(page, fail, run) {
  const seen = await page.evaluate(() =>
    Array.from(document.querySelectorAll('details.scenario')).map((d) => {
      const svg = d.querySelector('svg[data-chart="timeline"]');
      if (!svg) return null;
      const pts = (cls) => {
        const p = svg.querySelector(`polyline.${cls}`);
        return p ? p.getAttribute('points').trim().split(/\s+/).filter(Boolean)
          .map((xy) => xy.split(',').map(Number)) : [];
      };
      return { tin: pts('tin'), tout: pts('tout'), p99c: pts('p99c'), p99u: pts('p99u'),
               text: svg.textContent };
    }));
  run.scenarios.forEach((sc, k) => {
    const tl = sc.timeline || [];
    const got = seen[k];
    if (!tl.length) {
      if (got) fail(`scenario ${k}: a timeline chart without a timeline in run.json`);
      return;
    }
    if (!got) return fail(`scenario ${k}: ${tl.length} timeline points in run.json, no chart`);
    const fin = (v) => typeof v === 'number' && isFinite(v);
    const want = { tin: tl.length, tout: tl.length, p99c: tl.filter((p) => fin(p.p99_s)).length,
                   p99u: tl.filter((p) => fin(p.p99_uncorr_s)).length };
    for (const c of Object.keys(want))
      if (got[c].length !== want[c]) fail(`scenario ${k}: ${c} line has ${got[c].length} vertices, want ${want[c]}`);
    if (!/corrected/.test(got.text) || !/uncorrected/.test(got.text))
      fail(`scenario ${k}: the timeline's legend does not name both latency views`);
    const withC = tl.filter((p) => fin(p.p99_s));
    const peak = withC.reduce((a, b) => (b.p99_s > a.p99_s ? b : a), withC[0]);
    if (peak && got.p99c.length === withC.length) {
      const at = withC.indexOf(peak);
      const top = Math.min(...got.p99c.map(([, y]) => y)); // SVG y grows downwards
      if (got.p99c[at][1] !== top) fail(`scenario ${k}: the corrected p99's peak (t=${peak.t_s}) is not the line's highest vertex`);
      const u = got.p99u.find(([x]) => x === got.p99c[at][0]);
      if (fin(peak.p99_uncorr_s) && peak.p99_uncorr_s < peak.p99_s && !(u && u[1] > got.p99c[at][1]))
        fail(`scenario ${k}: at t=${peak.t_s} the uncorrected line is not drawn below the corrected one`);
    }
  });
}

async function checkOne(context, runPath, htmlPath, failures) {
  const name = path.basename(htmlPath, '.html');
  const fail = (msg) => failures.push(`${name}: ${msg}`);
  const run = JSON.parse(fs.readFileSync(runPath, 'utf8'));
  const want = expectations(run);
  const { page, ms, settled } = await open(context, htmlPath, fail);

  const dom = await page.evaluate((INJECTED) => {
    const q = (s) => document.querySelectorAll(s);
    return {
      verdict: (document.getElementById('verdict') || {}).dataset?.verdict ?? null,
      sections: Array.from(q('details.scenario .scenario-name')).map((e) => e.textContent),
      histBars: q('svg[data-chart="hist-bars"]').length,
      histCurve: q('svg[data-chart="hist-curve"]').length,
      resources: q('svg[data-chart="resources"]').length,
      cost: q('svg[data-chart="cost"]').length,
      timelines: q('svg[data-chart="timeline"]').length,
      scripts: q('script').length,
      injected: q(INJECTED).length,
      text: document.body.textContent,
      controlsShown: !document.getElementById('controls').hidden,
    };
  }, INJECTED);

  settled();
  if (dom.verdict !== run.verdict) fail(`verdict element shows ${dom.verdict}, run.json has ${run.verdict}`);
  expectNames(fail, dom.sections, want.scenarios);
  await expectAttention(page, fail, run);
  if (dom.histBars !== want.hist || dom.histCurve !== want.hist)
    fail(`histogram charts ${dom.histBars}+${dom.histCurve}, want ${want.hist}+${want.hist}`);
  if (dom.resources !== want.resources) fail(`resource charts ${dom.resources}, want ${want.resources}`);
  if (dom.cost !== want.cost) fail(`cost charts ${dom.cost}, want ${want.cost}`);
  if (dom.timelines !== want.timelines) fail(`timeline charts ${dom.timelines}, want ${want.timelines}`);
  await expectTimelines(page, fail, run);
  expectInert(fail, dom, JSON.stringify(run));
  await expectFilter(page, fail);

  const shot = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  const size = fs.statSync(htmlPath).size;
  console.log(`${name}: ${want.scenarios.length} scenarios, ${2 * want.hist + want.resources + want.cost + want.timelines} charts, ` +
              `${(size / 1024).toFixed(1)} KiB, loaded in ${ms.toFixed(0)} ms, screenshot ${shot}`);
  await page.close();
}

// What a compare page must show, from the two run.json files, independently of the C writer:
// scenarios paired by name in head order (the k-th of a name with the k-th), then those only in
// head, then those only in base; the checks that flipped; the cost models; the score direction.
function compareExpectations(base, head) {
  const failing = (c) => c.status === 'error' || (c.status === 'fail' && c.severity === 'error');
  const pairUp = (bs, hs) => {
    const used = bs.map(() => false);
    const pairs = hs.map((h) => {
      const j = bs.findIndex((b, k) => !used[k] && b.name === h.name);
      if (j >= 0) used[j] = true;
      return [j >= 0 ? bs[j] : null, h];
    });
    return { pairs, rest: bs.filter((_, k) => !used[k]) };
  };
  const sc = pairUp(base.scenarios, head.scenarios);
  let flips = 0;
  for (const [b, h] of sc.pairs) {
    const ck = pairUp(b ? b.checks || [] : [], h.checks || []);
    for (const [bc, hc] of ck.pairs) {
      if (!bc) flips += failing(hc);
      else flips += (failing(hc) && !failing(bc)) || (!failing(hc) && failing(bc) && hc.status === 'pass');
    }
    flips += ck.rest.filter(failing).length;
  }
  const matched = sc.pairs.filter(([b]) => b).map(([, h]) => h.name);
  const added = sc.pairs.filter(([b]) => !b).map(([, h]) => h.name);
  const models = new Set();
  for (const r of [base, head]) for (const s of r.scenarios) for (const c of s.cost || []) models.add(c.model);
  const score = (r) => (r.score && r.score.scored ? r.score.value : null);
  const sb = score(base), sh = score(head);
  const scoreClass = sb === null || sh === null ? null : sh > sb ? 'd-better' : sh < sb ? 'd-worse' : 'd-same';
  return { sections: [...matched, ...added, ...sc.rest.map((s) => s.name)], flips, models: [...models], scoreClass };
}

async function checkCompare(context, job, failures) {
  const name = path.basename(job.html, '.html');
  const fail = (msg) => failures.push(`${name}: ${msg}`);
  const base = JSON.parse(fs.readFileSync(job.base, 'utf8'));
  const head = JSON.parse(fs.readFileSync(job.head, 'utf8'));
  const want = compareExpectations(base, head);
  const { page, ms, settled } = await open(context, job.html, fail);
  const read = (INJECTED) => {
    const q = (s) => document.querySelectorAll(s);
    const v = document.getElementById('verdict');
    const rows = Array.from(q('#overall tr')).slice(1).map((tr) => ({
      name: tr.cells[0].textContent,
      cls: tr.cells[3].className,
      cells: tr.cells.length,
      bars: tr.querySelectorAll('svg[data-chart="bar-pair"] rect').length,
    }));
    return {
      base: v ? v.dataset.base : null,
      head: v ? v.dataset.head : null,
      words: v ? Array.from(v.querySelectorAll('.word')).map((e) => e.textContent) : [],
      sections: Array.from(q('details.scenario .scenario-name')).map((e) => e.textContent),
      visibleSections: Array.from(q('details.scenario')).filter((d) => d.open && d.getBoundingClientRect().height > 0).length,
      flips: q('tr.flip').length,
      rows,
      barPairs: q('svg[data-chart="bar-pair"]').length,
      scripts: q('script').length,
      injected: q(INJECTED).length,
      text: document.body.textContent,
      controlsShown: !document.getElementById('controls').hidden,
    };
  };
  const dom = await page.evaluate(read, INJECTED);

  settled();
  if (dom.base !== base.verdict || dom.head !== head.verdict)
    fail(`verdicts shown ${dom.base} -> ${dom.head}, the runs have ${base.verdict} -> ${head.verdict}`);
  if (dom.words.join(' ') !== `${base.verdict} ${head.verdict}`) fail(`verdict words ${JSON.stringify(dom.words)}`);
  expectNames(fail, dom.sections, want.sections);
  if (dom.flips !== want.flips) fail(`${dom.flips} flipped checks shown, the runs have ${want.flips}`);
  if (!dom.rows.length) fail('no overall deltas');
  for (const r of dom.rows) {
    if (r.cells !== 6) fail(`overall row ${r.name}: ${r.cells} cells`);
    if (r.bars !== 2) fail(`overall row ${r.name}: ${r.bars} bars, want a pair`);
  }
  for (const m of want.models)
    if (!dom.rows.some((r) => r.name.startsWith(`cost.${visible(m)}.run.`))) fail(`no overall cost row for model ${m}`);
  const score = dom.rows.find((r) => r.name === 'score');
  if (want.scoreClass && (!score || !score.cls.includes(want.scoreClass)))
    fail(`score delta is ${score ? score.cls : 'missing'}, want ${want.scoreClass}`);
  if (dom.barPairs < dom.rows.length) fail(`${dom.barPairs} bar pairs`);
  expectInert(fail, dom, JSON.stringify(base) + JSON.stringify(head));
  await expectFilter(page, fail);

  const shot = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  await page.emulateMedia({ media: 'print' });
  const print = path.join(artifacts, `${name}-print.png`);
  await page.screenshot({ path: print, fullPage: true });
  await page.close();

  // Without JavaScript: the same sections, all open, the controls left hidden, nothing fetched.
  const off = await open(context, job.html, (m) => fail(`JavaScript off: ${m}`), false);
  const noJs = await off.page.evaluate(read, INJECTED);
  off.settled();
  if (noJs.sections.length !== dom.sections.length || noJs.visibleSections !== dom.sections.length)
    fail(`JavaScript off: ${noJs.visibleSections} of ${dom.sections.length} sections shown`);
  if (noJs.controlsShown) fail('JavaScript off: the controls are shown');
  await off.page.close();
  console.log(`${name}: compare, ${want.sections.length} scenarios, ${want.flips} flipped checks, ` +
              `${dom.barPairs} bar pairs, ${(fs.statSync(job.html).size / 1024).toFixed(1)} KiB, loaded in ` +
              `${ms.toFixed(0)} ms, screenshots ${shot} ${print}`);
}

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hx-chromium-'));
  const failures = [];
  let browser;
  try {
    // A fresh profile each run (Playwright takes it as userDataDir, the --user-data-dir flag).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    for (const job of jobs) {
      if (job.run) await checkOne(browser, job.run, job.html, failures);
      else await checkCompare(browser, job, failures);
    }
  } catch (e) {
    failures.push(`browser: ${e && e.stack ? e.stack : e}`);
  } finally {
    if (browser) await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  for (const f of failures) console.error(`FAIL ${f}`);
  process.exit(failures.length ? 1 : 0);
})();
