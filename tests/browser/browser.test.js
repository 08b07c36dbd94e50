#!/usr/bin/env node
// Open each report.html in headless Chromium with the network cut off and check what a reader
// would see: no request leaves the page, no console or page error, the verdict, one section per
// scenario of run.json, every chart, hostile strings shown as text and never as markup.
//   node browser.test.js RUN.json REPORT.html [RUN.json REPORT.html ...]
// env: HX_CHROMIUM (default /usr/bin/chromium), HX_ARTIFACTS (screenshot folder, default cwd).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const url = require('url');
const { chromium } = require('playwright-core');

const executablePath = process.env.HX_CHROMIUM || '/usr/bin/chromium';
const artifacts = process.env.HX_ARTIFACTS || process.cwd();
const pairs = process.argv.slice(2);
if (pairs.length === 0 || pairs.length % 2) {
  console.error('usage: browser.test.js RUN.json REPORT.html [RUN.json REPORT.html ...]');
  process.exit(2);
}

// What the page must show, computed from run.json independently of the C writer.
function expectations(run) {
  let hist = 0, resources = 0, cost = 0;
  for (const sc of run.scenarios) {
    hist += (sc.histograms || []).length;
    if (sc.resources && (sc.resources.series || []).length) resources++;
    for (const c of sc.cost || []) if ((c.lines || []).length) cost++;
  }
  return { scenarios: run.scenarios.map((s) => s.name), hist, resources, cost };
}

// Text as the page shows it after the writer's replacements (controls, CR, invalid UTF-8).
function visible(s) {
  return s.replace(/\r\n/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffe\uffff\r]/g, '\ufffd');
}

async function checkOne(context, runPath, htmlPath, failures) {
  const name = path.basename(htmlPath, '.html');
  const fail = (msg) => failures.push(`${name}: ${msg}`);
  const run = JSON.parse(fs.readFileSync(runPath, 'utf8'));
  const want = expectations(run);
  const fileUrl = url.pathToFileURL(path.resolve(htmlPath)).href;

  const page = await context.newPage();
  const blocked = [];
  const consoleErrors = [];
  const pageErrors = [];
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

  const dom = await page.evaluate(() => {
    const q = (s) => document.querySelectorAll(s);
    return {
      verdict: (document.getElementById('verdict') || {}).dataset?.verdict ?? null,
      sections: Array.from(q('details.scenario .scenario-name')).map((e) => e.textContent),
      histBars: q('svg[data-chart="hist-bars"]').length,
      histCurve: q('svg[data-chart="hist-curve"]').length,
      resources: q('svg[data-chart="resources"]').length,
      cost: q('svg[data-chart="cost"]').length,
      scripts: q('script').length,
      injected: q('img, iframe, object, embed, a[href], [onerror], [onload], [onclick], x, link, meta[http-equiv="refresh"]').length,
      text: document.body.textContent,
      controlsShown: !document.getElementById('controls').hidden,
    };
  });

  if (blocked.length) fail(`${blocked.length} request(s) left the page: ${blocked.slice(0, 3).join(', ')}`);
  if (consoleErrors.length) fail(`console errors: ${consoleErrors.join(' | ')}`);
  if (pageErrors.length) fail(`page errors: ${pageErrors.join(' | ')}`);
  if (dom.verdict !== run.verdict) fail(`verdict element shows ${dom.verdict}, run.json has ${run.verdict}`);
  if (dom.sections.length !== want.scenarios.length)
    fail(`${dom.sections.length} scenario sections, run.json has ${want.scenarios.length}`);
  want.scenarios.forEach((s, i) => {
    if (dom.sections[i] !== visible(s).slice(0, dom.sections[i] ? dom.sections[i].length : undefined) ||
        !dom.sections[i])
      fail(`scenario ${i}: section shows ${JSON.stringify((dom.sections[i] || '').slice(0, 60))}`);
  });
  if (dom.histBars !== want.hist || dom.histCurve !== want.hist)
    fail(`histogram charts ${dom.histBars}+${dom.histCurve}, want ${want.hist}+${want.hist}`);
  if (dom.resources !== want.resources) fail(`resource charts ${dom.resources}, want ${want.resources}`);
  if (dom.cost !== want.cost) fail(`cost charts ${dom.cost}, want ${want.cost}`);
  if (dom.scripts !== 1) fail(`${dom.scripts} script elements, the report has exactly one of its own`);
  if (dom.injected) fail(`${dom.injected} element(s) that only injected markup could create`);
  if (!dom.controlsShown) fail('the script did not run (controls still hidden)');
  if (JSON.stringify(run).includes('<script>') && !dom.text.includes('<script>'))
    fail("hostile '<script>' text is not shown as text");

  // The optional filter works on the DOM the writer produced.
  await page.check('#only-failed');
  const hiddenOk = await page.evaluate(() =>
    Array.from(document.querySelectorAll('tr.ok')).every((tr) => getComputedStyle(tr).display === 'none'));
  if (!hiddenOk) fail('"only failures" left passing rows visible');
  await page.uncheck('#only-failed');

  const shot = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  const size = fs.statSync(htmlPath).size;
  console.log(`${name}: ${want.scenarios.length} scenarios, ${2 * want.hist + want.resources + want.cost} charts, ` +
              `${(size / 1024).toFixed(1)} KiB, loaded in ${ms.toFixed(0)} ms, screenshot ${shot}`);
  await page.close();
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
    for (let i = 0; i < pairs.length; i += 2) await checkOne(browser, pairs[i], pairs[i + 1], failures);
  } catch (e) {
    failures.push(`browser: ${e && e.stack ? e.stack : e}`);
  } finally {
    if (browser) await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  for (const f of failures) console.error(`FAIL ${f}`);
  process.exit(failures.length ? 1 : 0);
})();
