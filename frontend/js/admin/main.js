/**
 * The admin view (/admin.html): asks for the write key (kept in sessionStorage only), then shows
 * the index (/info, /admin/status: model, store, counts, queue depth, dead letters with a retry
 * button, doctor's last report, the operator's model warning) and what shoppers do
 * (/admin/insights) as SVG charts and tables.
 */
import { groupedBars, legend } from './charts.js';

const KEY = 'visualsearch.admin-key';
const base = new URL('./', document.baseURI);
const KINDS = { image: 'Image', text: 'Text', both: 'Image + text', similar: 'Similar', unknown: 'Unknown' };
const $ = (id) => document.getElementById(id);

function storedKey() {
  try { return sessionStorage.getItem(KEY) || ''; } catch { return ''; }
}

async function call(path, init = {}) {
  const response = await fetch(new URL(path, base), {
    ...init,
    headers: { Accept: 'application/json', 'X-API-Key': storedKey() },
  });
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  if (!response.ok) {
    const error = new Error(typeof body?.detail === 'string' ? body.detail : `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

const percent = (v) => `${(100 * (v ?? 0)).toFixed(1)}%`;
const number = (v) => (v === null || v === undefined ? '–' : String(v));

function facts(target, entries) {
  target.replaceChildren(...entries.map(([label, value, id]) => {
    const item = document.createElement('div');
    const dt = document.createElement('dt');
    const dd = document.createElement('dd');
    dt.textContent = label;
    dd.textContent = value;
    if (id) dd.dataset.fact = id;
    item.append(dt, dd);
    return item;
  }));
}

function table(caption, headers, rows, numeric = []) {
  if (!rows.length) {
    const empty = document.createElement('p');
    empty.textContent = 'Nothing yet.';
    return empty;
  }
  const t = document.createElement('table');
  t.className = 'admin-table';
  const cap = t.createCaption();
  cap.className = 'visually-hidden';
  cap.textContent = caption;
  const head = t.createTHead().insertRow();
  headers.forEach((text, i) => {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = text;
    if (numeric.includes(i)) th.className = 'admin-num';
    head.append(th);
  });
  const body = t.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    row.forEach((cell, i) => {
      const td = tr.insertCell();
      if (cell instanceof Node) td.append(cell);
      else td.textContent = cell;
      if (numeric.includes(i)) td.className = 'admin-num';
    });
  }
  return t;
}

function showIndex(info, status) {
  const warning = $('model-warning');
  warning.hidden = !info.warning;
  warning.textContent = info.warning ? `For the operator: ${info.warning}` : '';
  facts($('index-facts'), [
    ['Model', `${info.model} (${info.dim}-d, ${info.embed_backend})`, 'model'],
    ['Vector store', info.vector_store, 'vector_store'],
    ['Products', number(info.products), 'products'],
    ['Vectors', number(info.vectors), 'vectors'],
    ['Index version', number(info.index_version), 'index_version'],
    ['Queue depth', number(status.queue_depth), 'queue_depth'],
    ['Searches stored', number(status.searches_stored), 'searches_stored'],
    ['Events stored', number(status.events_stored), 'events_stored'],
  ]);
  const dead = status.dead_letters;
  $('dead-empty').hidden = dead.length > 0;
  $('dead-table').hidden = dead.length === 0;
  $('dead-table').tBodies[0].replaceChildren(...dead.map((job) => {
    const tr = document.createElement('tr');
    for (const text of [job.product_id, String(job.attempts), job.error || '']) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    const td = document.createElement('td');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'button button--ghost button--small';
    button.textContent = `Retry ${job.product_id}`;
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await call(`admin/dead-letters/${job.job_id}/retry`, { method: 'POST' });
        $('dead-status').textContent = `${job.product_id} is queued again.`;
        tr.remove();
      } catch (error) {
        $('dead-status').textContent = `Retry failed: ${error.message}`;
        button.disabled = false;
      }
    });
    td.append(button);
    tr.append(td);
    return tr;
  }));
  const doctor = $('doctor-report');
  if (!status.doctor) {
    doctor.textContent = 'No report yet: run `visualsearch doctor`.';
  } else {
    const when = document.createElement('p');
    when.textContent = `${new Date(status.doctor.at).toLocaleString()}: ${status.doctor.clean ? 'everything agrees' : 'drift found'}.`;
    const pre = document.createElement('pre');
    pre.className = 'admin-doctor';
    pre.textContent = status.doctor.lines.join('\n') || 'Everything agrees.';
    doctor.replaceChildren(when, pre);
  }
}

function showInsights(report) {
  const t = report.totals;
  facts($('totals'), [
    ['Searches', number(t.searches), 'searches'],
    ['Click-through rate', percent(t.click_through_rate), 'ctr'],
    ['MRR of clicks', t.mean_reciprocal_rank === null ? '–' : t.mean_reciprocal_rank.toFixed(3), 'mrr'],
    ['Zero-result rate', percent(t.zero_result_rate), 'zero'],
    [`Low-score rate (< ${report.low_score})`, percent(t.low_score_rate), 'low'],
    ['Add-to-cart rate', percent(t.add_to_cart_rate), 'cart'],
    ['Mean latency', t.mean_latency_ms === null ? '–' : `${t.mean_latency_ms.toFixed(1)} ms`, 'latency'],
  ]);
  const days = [...new Set(report.by_day.map((r) => r.day))];
  const kinds = [...new Set(report.by_day.map((r) => r.kind))];
  const perDay = days.map((day) => kinds.map((kind) =>
    report.by_day.filter((r) => r.day === day && r.kind === kind).reduce((n, r) => n + r.searches, 0)));
  $('chart-days').replaceChildren(
    groupedBars({ groups: days, series: kinds.map((k) => KINDS[k] ?? k), values: perDay, labelledBy: 'chart-days-title' }),
    legend(kinds.map((k) => KINDS[k] ?? k)),
  );
  const rates = ['Click-through', 'MRR of clicks', 'Zero results', 'Low score'];
  $('chart-kinds').replaceChildren(
    groupedBars({
      groups: report.by_kind.map((k) => KINDS[k.kind] ?? k.kind),
      series: rates,
      values: report.by_kind.map((k) => [k.click_through_rate, k.mean_reciprocal_rank ?? 0, k.zero_result_rate, k.low_score_rate]),
      labelledBy: 'chart-kinds-title',
      format: (v) => v.toFixed(2),
      max: 1,
    }),
    legend(rates),
  );
  const variants = $('variants');
  if (report.experiment) {
    const title = document.createElement('h3');
    title.textContent = `Experiment “${report.experiment}”`;
    variants.replaceChildren(title, table('Figures per variant',
      ['Variant', 'Searches', 'CTR', 'MRR', 'Zero results', 'Low score'],
      report.by_variant.map((v) => [v.variant ?? 'none', String(v.searches), percent(v.click_through_rate),
        v.mean_reciprocal_rank === null ? '–' : v.mean_reciprocal_rank.toFixed(3), percent(v.zero_result_rate), percent(v.low_score_rate)]),
      [1, 2, 3, 4, 5]));
  } else variants.replaceChildren();
  $('slowest').replaceChildren(table('Slowest searches', ['Kind', 'Query', 'Results', 'Latency (ms)'],
    report.slowest.map((s) => [KINDS[s.kind] ?? s.kind, s.query ?? '(image)', String(s.results), s.latency_ms.toFixed(1)]), [2, 3]));
  $('unclicked').replaceChildren(table('Top queries with no click', ['Query', 'Searches', 'Mean results'],
    report.unclicked_queries.map((q) => [q.query, String(q.searches), String(q.mean_results)]), [1, 2]));
}

async function load() {
  const error = $('admin-error');
  error.hidden = true;
  try {
    const [info, status, report] = await Promise.all([
      call('info'),
      call('admin/status'),
      call(`admin/insights?days=${$('days').value}`),
    ]);
    showIndex(info, status);
    showInsights(report);
    $('admin-content').hidden = false;
    $('forget-key').hidden = false;
    document.documentElement.dataset.loaded = 'true';
  } catch (failure) {
    $('admin-content').hidden = true;
    error.hidden = false;
    error.textContent = failure.status === 401
      ? `The key was refused: ${failure.message}`
      : `The admin view could not be loaded: ${failure.message}`;
  }
}

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  try { sessionStorage.setItem(KEY, $('api-key').value); } catch { /* storage blocked */ }
  $('api-key').value = '';
  load();
});
$('forget-key').addEventListener('click', () => {
  try { sessionStorage.removeItem(KEY); } catch { /* storage blocked */ }
  $('admin-content').hidden = true;
  $('forget-key').hidden = true;
});
$('days').addEventListener('change', load);
if (storedKey()) load();
document.documentElement.dataset.ready = 'true';
