// Switchboard's web console: pages over the daemon's HTTP API, nothing else. Every value that comes
// from a job (recipients, refs, vendors' reasons) is put in the page as text, never as markup.
'use strict';

const keyName = 'switchboard.api_key';
const view = document.getElementById('view');
const notice = document.getElementById('notice');
const forgetKey = document.getElementById('forget-key');
const numbers = new Intl.NumberFormat();
const states = ['queued', 'sending', 'awaiting_receipt', 'accepted', 'delivered', 'failed', 'unknown', 'cancelled',
  'skipped_invalid', 'skipped_duplicate', 'skipped_suppressed'];
const jobStates = ['queued', 'open', 'running', 'finished'];

// ---- the API -------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super(body.message || ('the daemon answered ' + status));
    this.status = status;
    this.code = body.code || '';
    this.field = body.field || '';
  }
}

async function api(method, path, body) {
  const headers = {};
  const key = sessionStorage.getItem(keyName);
  if (key) headers.Authorization = 'Bearer ' + key;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let answer;
  try {
    answer = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, { code: 'unreachable', message: 'the daemon cannot be reached (' + e.message + ')' });
  }
  const text = await answer.text();
  let parsed = {};
  try { parsed = text ? JSON.parse(text) : {}; } catch (e) { parsed = { message: text.slice(0, 300) }; }
  if (answer.status === 401) {
    sessionStorage.removeItem(keyName);   // a refused key is not kept
    const refused = new ApiError(401, parsed);
    refused.keySent = Boolean(key);
    throw refused;
  }
  if (!answer.ok) throw new ApiError(answer.status, parsed);
  return parsed;
}

// ---- building the page ---------------------------------------------------------------------------

// An element with attributes and children; strings become text nodes, so nothing is parsed as HTML.
function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

function show(...children) {
  view.replaceChildren();
  append(view, children);
}

function number(n) { return numbers.format(n || 0); }

// A time in the browser's zone, with UTC on hover.
function time(ms) {
  if (!ms) return h('span', { class: 'muted' }, '—');
  const at = new Date(ms);
  return h('time', { datetime: at.toISOString(), title: at.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') },
    at.toLocaleString());
}

function stateLabel(state) { return h('span', { class: 'state', dataset: { state } }, state.replace('_', ' ')); }

// Counts by state as one stacked bar, widest states first in their fixed order.
function stackedBar(counts, total, big) {
  const bar = h('div', { class: big ? 'bar big' : 'bar', role: 'img',
    'aria-label': states.filter(s => counts[s]).map(s => s + ' ' + number(counts[s])).join(', ') || 'no recipients' });
  for (const s of states) {
    if (!counts[s] || !total) continue;
    const part = h('span', { title: s + ': ' + number(counts[s]), dataset: { state: s } });
    part.style.width = (100 * counts[s] / total) + '%';
    part.style.background = 'var(--' + s + ')';
    bar.append(part);
  }
  return bar;
}

function legend(counts) {
  return h('ul', { class: 'legend' }, states.filter(s => counts[s]).map(s => {
    const item = h('li', { dataset: { state: s } }, s.replace('_', ' ') + ': ', h('strong', {}, number(counts[s])));
    item.style.setProperty('--swatch', 'var(--' + s + ')');
    return item;
  }));
}

function errorBox(error) {
  const box = h('div', { class: 'error-box', role: 'alert' }, error.message);
  if (error.status) box.append(h('span', { class: 'muted' }, ' (' + error.status + (error.code ? ' ' + error.code : '') + ')'));
  return box;
}

function say(message) {
  notice.textContent = message || '';
  notice.hidden = !message;
}

// ---- pages: one at a time, each with its own timers --------------------------------------------

let page = 0;   // bumped on every navigation: a page's late answers and timers see they are stale

function current(token) { return token === page; }

// Runs `work` now and then every `ms` while the page is shown; a tab in the background asks nothing.
function every(token, ms, work) {
  let first = true;
  const tick = async () => {
    if (!current(token)) return;
    if (first || !document.hidden) await work();
    first = false;
    if (current(token)) setTimeout(tick, ms);
  };
  return tick();
}

// Runs a page's work; a 401 asks for a key, any other failure is shown in place of the page.
async function guarded(token, work) {
  try {
    await work();
    say('');
  } catch (error) {
    if (!current(token)) return;
    if (error.status === 401) return askForKey('The daemon did not accept ' +
      (error.keySent ? 'that key.' : 'a request without an API key.'));
    if (view.dataset.loaded === String(token)) say(error.message);   // keep what is shown; say what failed
    else show(errorBox(error));
  }
}

function askForKey(why) {
  page++;
  forgetKey.hidden = true;
  const input = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = h('form', { class: 'stack', id: 'key-form', onsubmit: event => {
    event.preventDefault();
    sessionStorage.setItem(keyName, input.value.trim());
    route();
  } },
  h('label', { for: 'api-key' }, 'API key (kept in this tab only, until it closes)'), input,
  h('div', {}, h('button', { type: 'submit' }, 'Use this key')));
  show(h('h1', {}, 'An API key is needed'), h('p', {}, why), form);
  input.focus();
}

forgetKey.addEventListener('click', () => {
  sessionStorage.removeItem(keyName);
  askForKey('The key was forgotten. Enter one to go on.');
});

// ---- Jobs ----------------------------------------------------------------------------------------

async function jobsPage(token, query) {
  const state = query.get('state') || '';
  const offset = Math.max(0, parseInt(query.get('offset') || '0', 10) || 0);
  const limit = 20;
  const go = (o, s) => { location.hash = '#/jobs?' + new URLSearchParams({ state: s, offset: o }); };
  const filter = h('select', { id: 'job-state', onchange: () => go(0, filter.value) },
    h('option', { value: '' }, 'every state'), jobStates.map(s => h('option', { value: s, selected: s === state }, s)));
  const body = h('tbody');
  const newer = h('button', { type: 'button', class: 'plain', disabled: offset === 0, onclick: () => go(Math.max(0, offset - limit), state) }, '← Newer');
  const older = h('button', { type: 'button', class: 'plain', disabled: true, onclick: () => go(offset + limit, state) }, 'Older →');
  show(h('h1', {}, 'Jobs'),
    h('div', { class: 'toolbar' }, h('label', { for: 'job-state' }, 'State', filter), newer, older),
    h('div', { class: 'scroll' }, h('table', { id: 'jobs' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Job'), h('th', {}, 'State'), h('th', { class: 'hide-narrow' }, 'Route'),
        h('th', { class: 'num' }, 'Recipients'), h('th', {}, 'Progress'), h('th', { class: 'hide-narrow' }, 'Submitted'),
        h('th', { class: 'hide-narrow' }, 'Finished'))), body)));
  await every(token, 3000, () => guarded(token, async () => {
    const params = new URLSearchParams({ limit, offset });
    if (state) params.set('state', state);
    const answer = await api('GET', '/v1/jobs?' + params);
    if (!current(token)) return;
    older.disabled = answer.next_offset === null || answer.next_offset === undefined;
    // Redrawn only when something changed: a redraw would take the keyboard focus off a job's link.
    const shown = JSON.stringify(answer.jobs);
    if (shown === body.dataset.shown) return;
    body.dataset.shown = shown;
    body.replaceChildren(...answer.jobs.map(job => h('tr', { dataset: { job: job.id } },
      h('td', {}, h('a', { href: '#/jobs/' + encodeURIComponent(job.id) }, job.id)),
      h('td', {}, stateLabel(job.is_cancelled && job.state === 'finished' ? 'cancelled' : job.state)),
      h('td', { class: 'hide-narrow' }, job.route),
      h('td', { class: 'num' }, number(job.recipients)),
      h('td', {}, stackedBar(job.counts, job.recipients)),
      h('td', { class: 'hide-narrow' }, time(job.created_at_ms)),
      h('td', { class: 'hide-narrow' }, time(job.finished_at_ms)))));
    if (!answer.jobs.length)
      body.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, state ? 'No ' + state + ' jobs here.' : 'No jobs yet.')));
    view.dataset.loaded = String(token);
  }));
}

// ---- A job ---------------------------------------------------------------------------------------

const progressSamples = new Map();   // job id -> [{at, done}] seen by this tab, for the chart and the rate

function settled(counts) {
  return states.filter(s => !['queued', 'sending', 'awaiting_receipt'].includes(s)).reduce((n, s) => n + (counts[s] || 0), 0);
}

function progressChart(job, samples) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('viewBox', '0 0 600 160');
  svg.setAttribute('role', 'img');
  svg.setAttribute('preserveAspectRatio', 'none');
  // From the submission to the finish (or now): what this tab saw in between, as it polled.
  const end = job.state === 'finished' && job.finished_at_ms ? job.finished_at_ms : Infinity;
  const points = [{ at: job.created_at_ms, done: 0 }].concat(samples.filter(p => p.at > job.created_at_ms && p.at < end),
    end < Infinity ? [{ at: end, done: settled(job.counts) }] : []);
  svg.setAttribute('aria-label', 'recipients settled over time: ' + number(points[points.length - 1]?.done) + ' of ' + number(job.recipients));
  const t0 = points[0]?.at || 0;
  const span = Math.max(1, (points[points.length - 1]?.at || 0) - t0);
  const x = at => 40 + 550 * (at - t0) / span;
  const y = done => 140 - 130 * (job.recipients ? done / job.recipients : 0);
  const axis = document.createElementNS(ns, 'path');
  axis.setAttribute('class', 'axis');
  axis.setAttribute('d', 'M40 10 V140 H590');
  axis.setAttribute('fill', 'none');
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('class', 'line');
  line.setAttribute('fill', 'none');
  line.setAttribute('points', points.map(p => x(p.at).toFixed(1) + ',' + y(p.done).toFixed(1)).join(' '));
  const top = document.createElementNS(ns, 'text');
  top.setAttribute('x', '0');
  top.setAttribute('y', '16');
  top.textContent = number(job.recipients);
  const seconds = document.createElementNS(ns, 'text');
  seconds.setAttribute('x', '540');
  seconds.setAttribute('y', '156');
  seconds.textContent = (span / 1000).toFixed(1) + ' s';
  svg.append(axis, line, top, seconds);
  return svg;
}

function historyList(steps) {
  if (!steps || !steps.length) return h('span', { class: 'muted' }, '—');
  return h('ol', { class: 'history', start: 0 }, steps.map(s => h('li', {},
    (s.provider || '?') + ' (' + (s.channel || '?') + '): ' + s.result +
    (s.code ? ' [' + s.code + ']' : '') + (s.reason ? ' — ' + s.reason : ''))));
}

function recipientRow(r) {
  return h('tr', { dataset: { index: r.index } },
    h('td', { class: 'num' }, number(r.index)),
    h('td', { class: 'text' }, r.to),
    h('td', { class: 'text' }, r.ref || ''),
    h('td', {}, stateLabel(r.state)),
    h('td', {}, r.provider || ''),
    h('td', { class: 'num hide-narrow' }, number(r.attempts)),
    h('td', { class: 'text' }, (r.code ? '[' + r.code + '] ' : '') + (r.reason || '')),
    h('td', { class: 'text' }, r.rule !== undefined && h('div', { class: 'muted' }, 'rule ' + r.rule), historyList(r.steps)));
}

function csvCell(value) {
  let text = value === undefined || value === null ? '' : String(value);
  // A cell a spreadsheet would run as a formula is kept as text (OWASP's advice on CSV injection);
  // a phone number such as +85255311111 stays as it is.
  if (/^[=@\t\r]/.test(text) || (/^[+-]/.test(text) && !/^[+-]\d+$/.test(text))) text = "'" + text;
  return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}

// Every recipient with its outcome, fetched page by page (the API's largest page), then saved.
async function downloadCsv(jobId, button, status) {
  button.disabled = true;
  const rows = ['index,to,ref,state,provider,attempts,message_id,code,reason,rule,route'];
  try {
    let offset = 0;
    for (;;) {
      const answer = await api('GET', '/v1/jobs/' + encodeURIComponent(jobId) + '/recipients?limit=1000&offset=' + offset);
      for (const r of answer.recipients)
        rows.push([r.index, r.to, r.ref, r.state, r.provider, r.attempts, r.message_id, r.code, r.reason, r.rule,
          (r.steps || []).map(s => s.provider + ':' + s.result).join(' > ')].map(csvCell).join(','));
      status.textContent = 'Fetched ' + number(rows.length - 1) + ' recipients…';
      if (answer.next_offset === null || answer.next_offset === undefined) break;
      offset = answer.next_offset;
    }
    const link = h('a', { href: URL.createObjectURL(new Blob([rows.join('\r\n') + '\r\n'], { type: 'text/csv' })),
      download: jobId + '-recipients.csv' });
    document.body.append(link);
    link.click();
    link.remove();
    status.textContent = 'Saved ' + number(rows.length - 1) + ' recipients as ' + jobId + '-recipients.csv.';
  } catch (error) {
    status.textContent = 'The download stopped: ' + error.message;
  } finally {
    button.disabled = false;
  }
}

async function jobPage(token, jobId) {
  const path = '/v1/jobs/' + encodeURIComponent(jobId);
  const title = h('h1', {}, 'Job ', jobId);
  const facts = h('dl', { class: 'facts', id: 'job-facts' });
  const bar = h('div', { id: 'job-bar' });
  const counts = h('div', { id: 'job-counts' });
  const rate = h('p', { id: 'job-rate', class: 'muted' });
  const chart = h('div', { id: 'job-chart' });
  const failures = h('tbody');
  const cancelArea = h('div', { class: 'toolbar', id: 'cancel-area' });
  const csvStatus = h('span', { class: 'muted', role: 'status' });
  const csvButton = h('button', { type: 'button', class: 'plain', id: 'download-csv', onclick: () => downloadCsv(jobId, csvButton, csvStatus) }, 'Download CSV');

  // The recipient table pages through the API: a job of millions is never loaded whole.
  const filter = { state: '', provider: '', offset: 0, previous: [] };
  const stateFilter = h('select', { id: 'recipient-state', onchange: () => { filter.state = stateFilter.value; restart(); } },
    h('option', { value: '' }, 'every state'), states.map(s => h('option', { value: s }, s)));
  const providerFilter = h('select', { id: 'recipient-provider', onchange: () => { filter.provider = providerFilter.value; restart(); } },
    h('option', { value: '' }, 'every provider'));
  const rows = h('tbody');
  const back = h('button', { type: 'button', class: 'plain', disabled: true, onclick: () => {
    filter.offset = filter.previous.pop() || 0; loadRecipients(); } }, '← Previous');
  const next = h('button', { type: 'button', class: 'plain', disabled: true }, 'Next →');
  const restart = () => { filter.offset = 0; filter.previous = []; loadRecipients(); };
  let nextOffset = null;
  next.addEventListener('click', () => {
    if (nextOffset === null) return;
    filter.previous.push(filter.offset);
    filter.offset = nextOffset;
    loadRecipients();
  });
  const loadRecipients = () => guarded(token, async () => {
    const params = new URLSearchParams({ offset: filter.offset, limit: 50 });
    if (filter.state) params.set('state', filter.state);
    if (filter.provider) params.set('provider', filter.provider);
    const answer = await api('GET', path + '/recipients?' + params);
    if (!current(token)) return;
    nextOffset = answer.next_offset === undefined ? null : answer.next_offset;
    next.disabled = nextOffset === null;
    back.disabled = filter.previous.length === 0;
    rows.replaceChildren(...answer.recipients.map(recipientRow));
    if (!answer.recipients.length) rows.append(h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No recipients match.')));
  });

  show(title,
    h('section', { class: 'card' }, facts, h('h2', {}, 'Progress'), bar, counts, rate, chart, cancelArea),
    h('section', { class: 'card' }, h('h2', {}, 'Why recipients did not get through'),
      h('div', { class: 'scroll' }, h('table', { id: 'failures' }, h('thead', {}, h('tr', {}, h('th', { class: 'num' }, 'Recipients'),
        h('th', {}, 'State'), h('th', {}, 'Code'), h('th', {}, 'Reason'))), failures))),
    h('section', { class: 'card' }, h('h2', {}, 'Recipients'),
      h('div', { class: 'toolbar' }, h('label', { for: 'recipient-state' }, 'State', stateFilter),
        h('label', { for: 'recipient-provider' }, 'Provider', providerFilter), back, next, csvButton, csvStatus),
      h('div', { class: 'scroll' }, h('table', { id: 'recipients', class: 'wide' }, h('thead', {}, h('tr', {}, h('th', { class: 'num' }, '#'),
        h('th', {}, 'To'), h('th', {}, 'Ref'), h('th', {}, 'State'), h('th', {}, 'Provider'), h('th', { class: 'num hide-narrow' }, 'Attempts'),
        h('th', {}, 'Reason'), h('th', {}, 'Route'))), rows))));

  api('GET', '/v1/providers').then(answer => {
    for (const p of answer.providers) providerFilter.append(h('option', { value: p.name }, p.name));
  }).catch(() => {});   // the filter is a convenience: without it the table still pages

  // Polled while the page is open: a finished job can still change (a late receipt that sends a
  // recipient on along its route), and the table is reloaded whenever the counts move.
  let seen = '';
  let reasons = null;
  let reasonsAt = 0;
  let failedSeen = -1;
  await every(token, 1500, () => guarded(token, async () => {
    const job = await api('GET', path);
    // Grouping failures reads every failed recipient: at most every 10 s, and only when there are new ones.
    const failed = states.filter(s => !['queued', 'sending', 'awaiting_receipt', 'accepted', 'delivered'].includes(s))
      .reduce((n, s) => n + (job.counts[s] || 0), 0);
    if (reasons === null || (failed !== failedSeen && (Date.now() - reasonsAt > 10000 || job.state === 'finished'))) {
      reasons = await api('GET', path + '/failures?limit=50');
      reasonsAt = Date.now();
      failedSeen = failed;
    }
    if (!current(token)) return;
    const samples = progressSamples.get(jobId) || [];
    samples.push({ at: Date.now(), done: settled(job.counts) });
    if (samples.length > 2000) samples.splice(0, samples.length - 2000);
    progressSamples.set(jobId, samples);

    const state = job.is_cancelled ? 'cancelled' : job.state;
    facts.replaceChildren(...[
      ['State', stateLabel(state)], ['Route', job.route], ['Recipients', number(job.recipients)],
      ['Submitted', time(job.created_at_ms)], ['Finished', time(job.finished_at_ms)],
      ['Send at', time(job.send_at_ms)], ['Deadline', time(job.deadline_ms)]].map(([name, value]) =>
      h('div', {}, h('dt', {}, name), h('dd', {}, value))));
    bar.replaceChildren(stackedBar(job.counts, job.recipients, true));
    counts.replaceChildren(legend(job.counts));
    const recent = samples.filter(s => s.at >= Date.now() - 10000);
    if (job.state === 'finished' && job.finished_at_ms)
      rate.textContent = 'Settled ' + number(settled(job.counts)) + ' recipients in ' +
        ((job.finished_at_ms - job.created_at_ms) / 1000).toFixed(1) + ' s (' +
        number(Math.round(settled(job.counts) * 1000 / Math.max(1, job.finished_at_ms - job.created_at_ms))) + ' recipients/s).';
    else if (recent.length > 1)
      rate.textContent = number(Math.round((recent[recent.length - 1].done - recent[0].done) * 1000 /
        Math.max(1, recent[recent.length - 1].at - recent[0].at))) + ' recipients/s over the last ' +
        Math.round((recent[recent.length - 1].at - recent[0].at) / 1000) + ' s.';
    else rate.textContent = 'Measuring the rate…';
    chart.replaceChildren(progressChart(job, samples));
    failures.replaceChildren(...reasons.failures.map(f => h('tr', {},
      h('td', { class: 'num' }, number(f.count)), h('td', {}, stateLabel(f.state)), h('td', {}, f.code),
      h('td', { class: 'text' }, f.reason))));
    if (!reasons.failures.length) failures.append(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'None so far.')));
    if (job.state === 'finished' || job.is_cancelled) {
      if (cancelArea.querySelector('#cancel-job, .confirm')) cancelArea.replaceChildren();
    } else if (!cancelArea.childElementCount) cancelArea.append(cancelButton(jobId, cancelArea));
    const now = job.state + JSON.stringify(job.counts);
    if (now !== seen) await loadRecipients();
    seen = now;
    view.dataset.loaded = String(token);
  }));
}

// Cancelling asks first, on the page: a stray click stops nothing.
function cancelButton(jobId, area) {
  const ask = h('button', { type: 'button', class: 'danger', id: 'cancel-job', onclick: () => {
    const yes = h('button', { type: 'button', class: 'danger', id: 'confirm-cancel', onclick: async () => {
      yes.disabled = true;
      try {
        await api('POST', '/v1/jobs/' + encodeURIComponent(jobId) + '/cancel');
        area.replaceChildren(h('span', {}, 'Cancelled: nothing more is sent; calls already under way finish.'));
      } catch (error) {
        area.replaceChildren(errorBox(error));
      }
    } }, 'Yes, cancel it');
    const no = h('button', { type: 'button', class: 'plain', onclick: () => area.replaceChildren(cancelButton(jobId, area)) }, 'Keep sending');
    area.replaceChildren(h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm the cancel' },
      h('span', {}, 'Cancel every recipient not yet sent?'), yes, no));
    no.focus();
  } }, 'Cancel job…');
  return ask;
}

// ---- Providers -----------------------------------------------------------------------------------

function rateText(limit) {
  const parts = [];
  if (limit.requests_per_second) parts.push(number(limit.requests_per_second) + ' calls/s');
  if (limit.recipients_per_second) parts.push(number(limit.recipients_per_second) + ' recipients/s');
  return parts.length ? parts.join(', ') : 'unlimited';
}

async function providersPage(token) {
  const body = h('tbody');
  show(h('h1', {}, 'Providers'), h('div', { class: 'scroll' }, h('table', { id: 'providers', class: 'wide' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Instance'), h('th', {}, 'Plugin'), h('th', {}, 'Channels'),
      h('th', {}, 'Configured rate'), h('th', { class: 'num' }, 'Calls/s now'), h('th', {}, 'Health'),
      h('th', {}, 'Last call'), h('th', {}, 'Last errors'))), body)));
  await every(token, 5000, () => guarded(token, async () => {
    const answer = await api('GET', '/v1/providers');
    if (!current(token)) return;
    body.replaceChildren(...answer.providers.map(p => h('tr', { dataset: { provider: p.name } },
      h('td', {}, p.name),
      h('td', {}, p.plugin + ' ' + p.version),
      h('td', {}, p.channels.join(', ')),
      h('td', {}, rateText(p.rate_limit)),
      h('td', { class: 'num' }, number(p.current.calls_per_second)),
      h('td', {}, h('span', { class: 'health-' + p.health.status }, p.health.status),
        p.health.recent_calls ? h('div', { class: 'muted' }, number(p.health.recent_ok) + ' of ' + number(p.health.recent_calls) + ' recent calls ok') : null),
      h('td', {}, time(p.health.last_call_at_ms)),
      h('td', { class: 'text' }, (p.last_errors || []).length
        ? h('ul', { class: 'history' }, p.last_errors.map(e => h('li', {}, time(e.at_ms), ' ', e.outcome + ': ' + e.error)))
        : h('span', { class: 'muted' }, 'none')))));
    view.dataset.loaded = String(token);
  }));
}

// ---- Submit --------------------------------------------------------------------------------------

// The CSV `switchboard send` reads: a header row naming the columns; `to` required, `ref` optional,
// any other column a parameter (an empty cell leaves it out); RFC 4180 quoting; blank lines skipped.
function parseCsv(text) {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records = [];
  let field = '', record = [], quoted = false, line = 1, recordLine = 1, sawField = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else { if (c === '\n') line++; field += c; }
    } else if (c === '"' && field === '') { quoted = true; sawField = true; }
    else if (c === ',') { record.push(field); field = ''; sawField = true; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      if (sawField || field !== '' || record.length) { record.push(field); records.push({ line: recordLine, fields: record }); }
      record = []; field = ''; sawField = false; line++; recordLine = line;
    } else { field += c; sawField = true; }
  }
  if (quoted) throw new Error('line ' + recordLine + ': a quoted field is not closed');
  if (sawField || field !== '' || record.length) { record.push(field); records.push({ line: recordLine, fields: record }); }
  if (!records.length) throw new Error('the file is empty; expected a header row such as to,ref,code and a row per recipient');
  const header = records[0].fields.map(f => f.trim());
  header.forEach((name, i) => {
    if (!name) throw new Error('line 1, column ' + (i + 1) + ': the header names no column here; every column needs a name');
    if (header.indexOf(name) !== i)
      throw new Error('line 1, column ' + (i + 1) + ": column '" + name + "' is named twice (columns " + (header.indexOf(name) + 1) + ' and ' + (i + 1) + ')');
  });
  // `to` and `ref` in any case, as `switchboard send` reads them.
  const column = wanted => {
    const found = header.map((name, i) => [name.toLowerCase(), i]).filter(([name]) => name === wanted);
    if (found.length > 1) throw new Error("line 1: a second '" + wanted + "' column (columns " + (found[0][1] + 1) + ' and ' + (found[1][1] + 1) + ')');
    return found.length ? found[0][1] : -1;
  };
  const to = column('to');
  if (to < 0)
    throw new Error("line 1: the header has no 'to' column (the recipient's number or id); its columns: " + header.join(', ') +
      (header.length === 1 && header[0].includes(';') ? "; the columns seem to be separated by ';', and only ',' separates them" : ''));
  const ref = column('ref');
  const recipients = [];
  for (const { line: at, fields } of records.slice(1)) {
    if (fields.length !== header.length)
      throw new Error('line ' + at + ': ' + fields.length + ' fields, but the header names ' + header.length + ' columns (' +
        header.join(', ') + ')' + (fields.length > header.length ? '; put a value that holds a comma in quotes' : ''));
    if (!fields[to].trim()) throw new Error('line ' + at + ', column ' + (to + 1) + ' (to): is empty; every recipient needs a number or id');
    const recipient = { to: fields[to].trim() };
    if (ref >= 0 && fields[ref] !== '') recipient.ref = fields[ref];
    const params = {};
    header.forEach((name, i) => { if (i !== to && i !== ref && fields[i] !== '') params[name] = fields[i]; });
    if (Object.keys(params).length) recipient.params = params;
    recipients.push({ line: at, recipient });
  }
  if (!recipients.length) throw new Error('the file has a header but no recipients');
  return recipients;
}

async function submitPage(token) {
  const fieldError = {};
  const errorFor = name => (fieldError[name] = h('p', { class: 'field-error', id: name + '-error', hidden: true }));
  const file = h('input', { id: 'file', type: 'file', accept: '.csv,text/csv', required: true, 'aria-describedby': 'file-error' });
  const routeSelect = h('select', { id: 'route', required: true, 'aria-describedby': 'route-error' });
  const sendAt = h('input', { id: 'send_at', type: 'datetime-local', 'aria-describedby': 'send_at-error' });
  const deadline = h('input', { id: 'deadline', type: 'datetime-local', 'aria-describedby': 'deadline-error' });
  const key = h('input', { id: 'idempotency_key', type: 'text', maxlength: 200, 'aria-describedby': 'idempotency_key-error' });
  const progress = h('p', { role: 'status', class: 'muted', id: 'submit-status' });
  const general = h('div', { id: 'submit-error' });
  const button = h('button', { type: 'submit' }, 'Submit job');
  const clearErrors = () => { for (const e of Object.values(fieldError)) { e.hidden = true; e.textContent = ''; } general.replaceChildren(); };
  const showError = (name, message) => {
    const target = fieldError[name];
    if (!target) return general.replaceChildren(errorBox({ message }));
    target.textContent = message;
    target.hidden = false;
  };
  const form = h('form', { class: 'stack', id: 'submit-form', novalidate: true, onsubmit: async event => {
    event.preventDefault();
    clearErrors();
    if (!file.files.length) return showError('file', 'Choose a CSV file of recipients.');
    if (!routeSelect.value) return showError('route', 'Choose a route.');
    let rows;
    try {
      const bytes = await file.files[0].arrayBuffer();
      let text;
      try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch (e) {
        throw new Error('is not UTF-8 text; save the file as UTF-8 ("CSV UTF-8" in a spreadsheet\'s Save As)');
      }
      rows = parseCsv(text);
    } catch (e) { return showError('file', file.files[0].name + ': ' + e.message); }
    const job = { route: routeSelect.value };
    for (const [name, input] of [['send_at', sendAt], ['deadline', deadline]]) {
      if (!input.value) continue;
      const at = new Date(input.value);
      if (isNaN(at)) return showError(name, 'Not a date and time.');
      job[name] = at.toISOString();
    }
    if (key.value.trim()) job.idempotency_key = key.value.trim();
    button.disabled = true;
    try {
      location.hash = '#/jobs/' + encodeURIComponent(await sendJob(job, rows, progress));
    } catch (error) {
      if (error.status === 401) return askForKey('The daemon did not accept the key.');
      const where = /^recipients\[(\d+)\]/.exec(error.field || '');
      const row = where ? rows[Number(where[1])] : undefined;
      if (where) showError('file', (row ? 'Line ' + row.line + ' ' : '') + '(' + error.field + '): ' + error.message);
      else if (['route', 'send_at', 'deadline', 'idempotency_key'].includes(error.field)) showError(error.field, error.message);
      else general.replaceChildren(errorBox(error));
      progress.textContent = '';
    } finally {
      button.disabled = false;
    }
  } },
  h('label', { for: 'file' }, 'Recipients (CSV: a "to" column, optional "ref", one column per template parameter)'), file, errorFor('file'),
  h('label', { for: 'route' }, 'Route'), routeSelect, errorFor('route'),
  h('label', { for: 'send_at' }, 'Send at (optional, your time zone)'), sendAt, errorFor('send_at'),
  h('label', { for: 'deadline' }, 'Deadline (optional: what is not sent by then fails)'), deadline, errorFor('deadline'),
  h('label', { for: 'idempotency_key' }, 'Idempotency key (optional: the same key never makes a second job)'), key, errorFor('idempotency_key'),
  general, h('div', {}, button), progress);
  show(h('h1', {}, 'Submit a job'), form);
  await guarded(token, async () => {
    const answer = await api('GET', '/v1/routes');
    if (!current(token)) return;
    routeSelect.replaceChildren(h('option', { value: '' }, 'choose a route'), ...answer.routes.map(r =>
      h('option', { value: r.name }, r.name + ' — ' + describeRoute(r.steps))));
    view.dataset.loaded = String(token);
  });
}

// "rule cn: smn-promo (sms) → vms-voice (voice); rule rest: ...": a weighted step's choices as "a 70 / b 30 (sms)".
function describeRoute(steps) {
  const rules = [];
  for (const s of steps) {
    if (rules.length === 0 || rules[rules.length - 1].name !== s.rule) rules.push({ name: s.rule, steps: [] });
    rules[rules.length - 1].steps.push(s);
  }
  return rules.map(rule => {
    const text = rule.steps.map((s, i) => {
      const next = rule.steps[i + 1];
      const choice = s.provider + (s.weight ? ' ' + s.weight : '');
      const sameStep = s.group !== undefined && next && next.group === s.group;
      return choice + (sameStep ? ' / ' : ' (' + s.channel + ')' + (next ? ' → ' : ''));
    }).join('');
    return rule.name === undefined ? text : 'rule ' + rule.name + ': ' + text;
  }).join('; ');
}

// One request for a small job; a large one is opened, sent in pages and started, as `switchboard send` does.
async function sendJob(job, rows, progress) {
  const pageSize = 5000;
  const recipients = rows.map(r => r.recipient);
  if (recipients.length <= pageSize) {
    progress.textContent = 'Submitting ' + number(recipients.length) + ' recipients…';
    return (await api('POST', '/v1/jobs', Object.assign({ recipients }, job))).id;
  }
  const opened = await api('POST', '/v1/jobs', Object.assign({ open: true }, job));
  for (let from = 0; from < recipients.length; from += pageSize) {
    progress.textContent = 'Sent ' + number(from) + ' of ' + number(recipients.length) + ' recipients…';
    try {
      await api('POST', '/v1/jobs/' + encodeURIComponent(opened.id) + '/recipients', { recipients: recipients.slice(from, from + pageSize) });
    } catch (error) {
      // The page's own indexes: point at the file's line.
      const where = /^recipients\[(\d+)\](.*)$/.exec(error.field || '');
      if (where) error.field = 'recipients[' + (from + Number(where[1])) + ']' + where[2];
      throw error;
    }
  }
  await api('POST', '/v1/jobs/' + encodeURIComponent(opened.id) + '/start');
  return opened.id;
}

// ---- the router ----------------------------------------------------------------------------------

function route() {
  const token = ++page;
  say('');
  delete view.dataset.loaded;
  const [path, queryText] = (location.hash.slice(1) || '/jobs').split('?');
  const query = new URLSearchParams(queryText || '');
  const section = path.split('/')[1] || 'jobs';
  for (const link of document.querySelectorAll('nav a'))
    if (link.dataset.section === section) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
  forgetKey.hidden = sessionStorage.getItem(keyName) === null;
  view.focus();
  const job = /^\/jobs\/(.+)$/.exec(path);
  if (job) { document.title = 'Job ' + decodeURIComponent(job[1]) + ' · Switchboard'; return jobPage(token, decodeURIComponent(job[1])); }
  if (section === 'providers') { document.title = 'Providers · Switchboard'; return providersPage(token); }
  if (section === 'submit') { document.title = 'Submit · Switchboard'; return submitPage(token); }
  document.title = 'Jobs · Switchboard';
  return jobsPage(token, query);
}

window.addEventListener('hashchange', route);
route();
