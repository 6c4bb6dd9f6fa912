// Starling dashboard: a live view of the cluster built on the admin API
// (docs/api.md). Plain ES2020, no dependencies, no build step.
//
// Data flow: GET api/v1/history seeds the charts, then the EventSource on
// api/v1/events drives everything: `state` re-renders the overview, nodes,
// slot map and migrations; `sample` appends chart points; `log` prepends to
// the event log. All URLs are relative to the page so a path prefix works.
'use strict';

const TOTAL_SLOTS = 16384;
const GRID_COLS = 128; // slot map: 128 x 128 cells
const GRID_ROWS = TOTAL_SLOTS / GRID_COLS;
const MAX_POINTS = 300; // chart points kept per node
const CHART_WINDOW_MS = 300 * 1000;
const MAX_LOG = 200; // event log entries kept in the DOM
const MAX_HISTORY = 50; // finished migrations shown
const TOKEN_KEY = 'starling-admin-token';
const PALETTE = [
  '#4f9dde', '#f28e2b', '#59c26a', '#b07aa1', '#edc948', '#76b7b2',
  '#ff9da7', '#e15759', '#a0cbe8', '#9c755f', '#8cd17d', '#d4a6c8',
];
const UNASSIGNED_COLOUR = '#3a404c';
const FONT = getComputedStyle(document.documentElement).getPropertyValue('--font-ui') ||
  'system-ui, sans-serif';

const app = {
  token: localStorage.getItem(TOKEN_KEY) || '',
  readsProtected: false, // set when a GET answers 401
  source: null, // the EventSource
  reconnectTimer: 0,
  reconnectDelay: 2000,
  stateCount: 0,
  nodes: new Map(), // id -> Node from the last state
  colours: new Map(), // id -> colour, stable for the session
  slotOwner: new Int16Array(TOTAL_SLOTS).fill(-1), // index into slotIds, -1 unassigned
  slotTarget: new Int16Array(TOTAL_SLOTS).fill(-1), // index into slotIds, -1 not migrating
  slotIds: [],
  migrationPaths: [], // [{path, pattern}] hatched overlay per migration target
  slotGeom: { cell: 3, dpr: 1 },
  slotBase: document.createElement('canvas'), // owners drawn once per state
  animating: false,
  series: new Map(), // node id -> [[unix_ms, ops, memory]]
  chartQueued: false,
  logKeys: new Set(),
};

// ---------------------------------------------------------------- helpers

const $ = (sel, root = document) => root.querySelector(sel);

function setText(target, text) {
  const node = typeof target === 'string' ? $(target) : target;
  text = String(text);
  if (node && node.textContent !== text) node.textContent = text;
}

// Renders `items` into `parent`, reusing children keyed by data-key so that
// rows keep their state (e.g. an armed Drain button) between updates.
function syncChildren(parent, items, keyOf, create, update) {
  const existing = new Map();
  for (const child of parent.children) existing.set(child.dataset.key, child);
  let expected = parent.firstElementChild;
  for (const item of items) {
    const key = keyOf(item);
    let child = existing.get(key);
    if (child) existing.delete(key);
    else {
      child = create(item);
      child.dataset.key = key;
    }
    update(child, item);
    if (child !== expected) parent.insertBefore(child, expected);
    else expected = expected.nextElementSibling;
  }
  for (const stale of existing.values()) stale.remove();
}

// A badge shows `value` and carries it as data-<attr> for the CSS colours.
function setBadge(badge, attr, value) {
  badge.dataset[attr] = value;
  setText(badge, value);
}

function element(tag, className, html) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (html) node.innerHTML = html; // static templates only, never data
  return node;
}

const byId = (a, b) => (a[0] < b[0] ? -1 : 1); // sorts [id, value] pairs
const shortId = (id) => (id ? String(id).slice(0, 8) : '—');

function fmtInt(n) {
  return n == null ? '—' : Math.round(n).toLocaleString('en-US');
}

function fmtCompact(n) {
  if (n == null) return '—';
  const abs = Math.abs(n);
  for (const [div, unit] of [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']]) {
    if (abs >= div) return (n / div).toFixed(abs / div >= 100 ? 0 : 1) + unit;
  }
  return String(Math.round(n));
}

function fmtBytes(bytes) {
  if (bytes == null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let [value, i] = [bytes, 0];
  for (; Math.abs(value) >= 1024 && i < units.length - 1; i++) value /= 1024;
  return `${value.toFixed(i === 0 || Math.abs(value) >= 100 ? 0 : 1)} ${units[i]}`;
}

const pad = (n) => String(n).padStart(2, '0');

function fmtDuration(secs) {
  if (secs == null || !isFinite(secs)) return '—';
  secs = Math.max(0, Math.round(secs));
  if (secs < 60) return `${secs}s`;
  if (secs < 3600) return `${Math.floor(secs / 60)}m ${pad(secs % 60)}s`;
  return `${Math.floor(secs / 3600)}h ${pad(Math.floor(secs / 60) % 60)}m`;
}

function fmtClock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function fmtRanges(ranges, max = 3) {
  const list = ranges || [];
  const parts = list.slice(0, max).map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`));
  if (list.length > max) parts.push(`+${list.length - max} more`);
  return parts.join(', ');
}

// ---------------------------------------------------------------- colours

function hashColour(id) {
  let h = 0;
  for (const ch of String(id)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${h % 360}, 60%, 62%)`;
}

// Gives every node a palette colour, in sorted id order for nodes seen for
// the first time; a node keeps its colour for the whole session.
function assignColours(ids) {
  const used = new Set();
  const pending = [];
  for (const id of [...new Set(ids)].sort()) {
    const colour = app.colours.get(id);
    if (colour && !used.has(colour)) used.add(colour);
    else pending.push(id);
  }
  for (const id of pending) {
    const colour = PALETTE.find((c) => !used.has(c)) || hashColour(id);
    used.add(colour);
    app.colours.set(id, colour);
  }
}

const colourOf = (id) => app.colours.get(id) || hashColour(id);

function nodeChip(id) {
  const chip = element('span', 'chip');
  chip.textContent = shortId(id);
  chip.style.setProperty('--c', colourOf(id));
  const node = app.nodes.get(id);
  chip.title = node ? `${id}\n${node.address}` : String(id);
  return chip;
}

// ---------------------------------------------------------------- network

function apiUrl(path) {
  return new URL(path, location.href);
}

function authHeaders(always) {
  return (always || app.readsProtected) && app.token
    ? { Authorization: `Bearer ${app.token}` } : {};
}

// GET a JSON route; on 401 remember that reads need the token and retry.
async function getJson(path) {
  let res = await fetch(apiUrl(path), { headers: authHeaders(false) });
  if (res.status === 401 && !app.readsProtected) {
    app.readsProtected = true;
    res = await fetch(apiUrl(path), { headers: authHeaders(false) });
  }
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    throw new Error(`${path}: ${res.status} ${(body && body.error) || res.statusText}`);
  }
  return res.json();
}

function setConnection(status) {
  document.body.dataset.connected = status === 'open' ? 'true' : 'false';
  $('#conn').dataset.status = status;
  setText('#conn-text', { open: 'live', connecting: 'connecting…', closed: 'disconnected' }[status]);
}

function connect() {
  clearTimeout(app.reconnectTimer);
  if (app.source) app.source.close();
  const url = apiUrl('api/v1/events');
  if (app.readsProtected && app.token) url.searchParams.set('token', app.token);
  const source = new EventSource(url);
  app.source = source;
  setConnection('connecting');
  source.onopen = () => {
    app.reconnectDelay = 2000;
    setConnection('open');
    if ($('#action-status').dataset.kind === 'auth') showStatus('', '');
    if (!app.series.size) getJson('api/v1/history').then(loadHistory).catch(() => {});
  };
  source.onerror = () => {
    if (source !== app.source) return;
    // CONNECTING: the browser retries by itself. CLOSED (e.g. a 401 reply):
    // it gave up, so probe the auth mode again and reconnect after a pause.
    if (source.readyState === EventSource.CLOSED) {
      setConnection('closed');
      scheduleReconnect();
    } else setConnection('connecting');
  };
  source.addEventListener('state', (e) => handleEvent(onState, e));
  source.addEventListener('sample', (e) => handleEvent(onSample, e));
  source.addEventListener('log', (e) => handleEvent(onLog, e));
}

function scheduleReconnect() {
  clearTimeout(app.reconnectTimer);
  app.reconnectTimer = setTimeout(async () => {
    try {
      await getJson('api/v1/cluster');
    } catch (err) {
      showAuthHint();
    }
    connect();
  }, app.reconnectDelay);
  app.reconnectDelay = Math.min(app.reconnectDelay * 2, 30000);
}

function showAuthHint() {
  if (app.readsProtected) showStatus(`Reads need ${app.token ? 'a valid' : 'the'} admin token: enter it above.`, 'auth');
}

function handleEvent(handler, event) {
  try {
    handler(JSON.parse(event.data));
  } catch (err) {
    console.error(`cannot handle ${event.type} event`, err);
  }
}

// ---------------------------------------------------------------- state

function onState(state) {
  const nodes = state.nodes || [];
  app.nodes = new Map(nodes.map((n) => [n.id, n]));
  assignColours([...nodes.map((n) => n.id), ...(state.slots?.owners || []).map((o) => o.node)]);
  const sections = [
    () => renderOverview(state.cluster || {}, state.migrations || {}),
    () => renderNodes(nodes),
    () => renderSlotMap(state.slots || {}),
    () => renderMigrations(state.migrations || {}),
  ];
  for (const render of sections) {
    try {
      render();
    } catch (err) {
      console.error('render failed', err);
    }
  }
  app.stateCount++;
  document.body.dataset.stateUpdates = String(app.stateCount);
  setText('#last-update', `updated ${fmtClock(Date.now())}`);
}

function renderOverview(cluster, migrations) {
  setText('#cluster-state', cluster.state || '—');
  $('#card-state').dataset.state = cluster.state === 'ok' ? 'ok' : 'fail';
  setText('#state-sub', `epoch ${cluster.current_epoch ?? '—'}`);
  setText('#cluster-mode', cluster.mode === 'standalone' ? 'standalone' : '');
  setText('#node-count', cluster.nodes ?? 0);
  setText('#nodes-sub', cluster.nodes_failed ? `${cluster.nodes_failed} failed` : 'none failed');
  $('#nodes-sub').classList.toggle('bad', !!cluster.nodes_failed);
  setText('#slots-covered', cluster.slots_assigned ?? 0);
  setText('#slots-sub', cluster.slots_fail ? `${cluster.slots_fail} failing` : `${fmtInt(cluster.slots_ok)} ok`);
  setText('#total-keys', fmtCompact(cluster.keys));
  setText('#keys-sub', fmtInt(cluster.keys));
  setText('#total-memory', fmtBytes(cluster.memory_bytes));
  setText('#memory-sub', cluster.nodes ? `${fmtBytes(cluster.memory_bytes / cluster.nodes)} per node` : '');
  setText('#total-ops', fmtCompact(cluster.ops_per_sec));
  setText('#clients-sub', `${fmtInt(cluster.connected_clients)} clients`);
  const active = cluster.migrations_active ?? (migrations.active || []).length;
  setText('#migration-count', active);
  setText('#migrations-sub', cluster.rebalance_running ? 'rebalance running' : 'idle');
}

// ---------------------------------------------------------------- nodes

function renderNodes(nodes) {
  const sorted = [...nodes].sort((a, b) => (a.id < b.id ? -1 : 1));
  syncChildren($('#nodes-table tbody'), sorted, (n) => n.id, createNodeRow, updateNodeRow);
}

function createNodeRow(node) {
  const tr = element('tr', '',
    '<td class="id"><i class="swatch"></i><span class="short"></span></td>' +
    '<td class="addr"></td><td class="role"></td><td><span class="badge health"></span></td>' +
    '<td class="num slots"></td><td class="num keys"></td><td class="num mem"></td>' +
    '<td class="num ops"></td><td class="num clients"></td>' +
    '<td class="act"><button type="button" class="drain">Drain</button></td>');
  tr.dataset.nodeId = node.id;
  const button = $('button.drain', tr);
  button.dataset.nodeId = node.id;
  button.addEventListener('click', () => onDrainClick(button));
  return tr;
}

function updateNodeRow(tr, node) {
  const stats = node.stats || {};
  tr.dataset.health = node.health;
  tr.classList.toggle('myself', !!node.myself);
  $('.swatch', tr).style.background = colourOf(node.id);
  const idCell = $('.id', tr);
  idCell.title = node.id + (node.myself ? ' (this node)' : '');
  setText($('.short', idCell), shortId(node.id) + (node.myself ? ' ★' : ''));
  const addr = $('.addr', tr);
  setText(addr, node.hostname ? `${node.hostname} (${node.address})` : node.address);
  addr.title = `cluster bus port ${node.cluster_port}`;
  setText($('.role', tr), node.primary ? `${node.role} of ${shortId(node.primary)}` : node.role);
  setBadge($('.health', tr), 'health', node.health);
  setText($('.slots', tr), fmtInt(node.slots));
  // stats is null until the node's first report: the formatters show '—'
  setText($('.keys', tr), fmtInt(stats.keys));
  setText($('.mem', tr), fmtBytes(stats.memory_bytes));
  setText($('.ops', tr), fmtCompact(stats.ops_per_sec));
  setText($('.clients', tr), fmtInt(stats.connected_clients));
}

// Drain needs two clicks ("Drain" -> "Confirm?") instead of confirm().
function onDrainClick(button) {
  const id = button.dataset.nodeId;
  clearTimeout(button.disarmTimer);
  if (button.classList.contains('armed')) {
    disarm(button);
    postAction(`Drain ${shortId(id)}`, `api/v1/nodes/${encodeURIComponent(id)}/drain`, button);
    return;
  }
  button.classList.add('armed');
  button.textContent = 'Confirm?';
  button.title = 'Click again to move every slot off this node';
  button.disarmTimer = setTimeout(() => disarm(button), 4000);
}

function disarm(button) {
  clearTimeout(button.disarmTimer);
  button.classList.remove('armed');
  button.textContent = 'Drain';
  button.title = '';
}

// ---------------------------------------------------------------- slot map

function fillRanges(ranges, array, value) {
  for (const [start, end] of ranges || []) {
    array.fill(value, Math.max(0, start), Math.min(end, TOTAL_SLOTS - 1) + 1);
  }
}

function renderSlotMap(slots) {
  const ids = [];
  const indexOf = (id) => {
    let i = ids.indexOf(id);
    if (i < 0) i = ids.push(id) - 1;
    return i;
  };
  app.slotOwner.fill(-1);
  app.slotTarget.fill(-1);
  for (const owner of slots.owners || []) fillRanges(owner.slot_ranges, app.slotOwner, indexOf(owner.node));
  for (const mig of slots.migrating || []) fillRanges(mig.slot_ranges, app.slotTarget, indexOf(mig.target));
  app.slotIds = ids;

  const perOwner = new Map();
  let covered = 0;
  let migrating = 0;
  for (let s = 0; s < TOTAL_SLOTS; s++) {
    const owner = app.slotOwner[s];
    if (owner >= 0) {
      covered++;
      perOwner.set(ids[owner], (perOwner.get(ids[owner]) || 0) + 1);
    }
    if (app.slotTarget[s] >= 0) migrating++;
  }
  const canvas = $('#slot-map');
  canvas.dataset.owners = String(perOwner.size);
  canvas.dataset.covered = String(covered);
  canvas.dataset.migrating = String(migrating);
  const unassigned = TOTAL_SLOTS - covered;
  setText('#slot-summary', [
    unassigned ? `${fmtInt(unassigned)} unassigned` : 'all assigned',
    migrating ? `${fmtInt(migrating)} migrating` : '',
  ].filter(Boolean).join(' · '));

  renderLegend([...perOwner].sort(byId));
  drawSlotBase();
  buildMigrationPaths();
  startSlotAnimation();
}

const createLegendItem = () =>
  element('span', 'legend-item', '<i class="swatch"></i><span class="sid"></span><span class="count"></span>');

function renderLegend(owners) {
  syncChildren($('#legend'), owners, ([id]) => id, createLegendItem, (item, [id, count]) => {
    item.dataset.nodeId = id;
    $('.swatch', item).style.background = colourOf(id);
    setText($('.sid', item), shortId(id));
    setText($('.count', item), `${fmtInt(count)} (${((count * 100) / TOTAL_SLOTS).toFixed(1)}%)`);
    const node = app.nodes.get(id);
    item.title = node ? `${id}\n${node.address}` : id;
  });
}

// Cell size follows the panel width (2 to 4 CSS px per slot).
function updateSlotGeometry() {
  const canvas = $('#slot-map');
  const width = canvas.parentElement.clientWidth - 2;
  const cell = Math.max(2, Math.min(4, Math.floor(width / GRID_COLS)));
  const dpr = window.devicePixelRatio || 1;
  app.slotGeom = { cell, dpr };
  canvas.style.width = `${GRID_COLS * cell}px`;
  canvas.style.height = `${GRID_ROWS * cell}px`;
  for (const c of [canvas, app.slotBase]) {
    c.width = Math.round(GRID_COLS * cell * dpr);
    c.height = Math.round(GRID_ROWS * cell * dpr);
  }
}

// Calls draw(value, x, y, w) for each run of equal values in a grid row.
function forEachRun(array, draw) {
  const { cell } = app.slotGeom;
  for (let row = 0; row < GRID_ROWS; row++) {
    let col = 0;
    while (col < GRID_COLS) {
      const value = array[row * GRID_COLS + col];
      let end = col + 1;
      while (end < GRID_COLS && array[row * GRID_COLS + end] === value) end++;
      draw(value, col * cell, row * cell, (end - col) * cell);
      col = end;
    }
  }
}

function drawSlotBase() {
  const { cell, dpr } = app.slotGeom;
  const ctx = app.slotBase.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const colours = app.slotIds.map(colourOf);
  forEachRun(app.slotOwner, (owner, x, y, w) => {
    ctx.fillStyle = owner >= 0 ? colours[owner] : UNASSIGNED_COLOUR;
    ctx.fillRect(x, y, w, cell);
  });
  // faint separators every 1024 slots (8 rows) to help reading positions
  ctx.fillStyle = 'rgba(0, 0, 0, 0.15)';
  for (let row = 8; row < GRID_ROWS; row += 8) ctx.fillRect(0, row * cell - 0.5, GRID_COLS * cell, 1);
}

function buildMigrationPaths() {
  const { cell } = app.slotGeom;
  const paths = new Map();
  forEachRun(app.slotTarget, (target, x, y, w) => {
    if (target < 0) return;
    if (!paths.has(target)) paths.set(target, new Path2D());
    paths.get(target).rect(x, y, w, cell);
  });
  app.migrationPaths = [...paths].map(([target, path]) => ({
    path, pattern: hatchPattern(colourOf(app.slotIds[target])),
  }));
}

function hatchPattern(colour) {
  const tile = document.createElement('canvas');
  tile.width = tile.height = 6;
  const ctx = tile.getContext('2d');
  ctx.strokeStyle = colour;
  ctx.lineWidth = 2.2;
  ctx.beginPath();
  for (const offset of [-6, 0, 6]) {
    ctx.moveTo(offset, 6);
    ctx.lineTo(offset + 6, 0);
  }
  ctx.stroke();
  return $('#slot-map').getContext('2d').createPattern(tile, 'repeat');
}

function drawSlotFrame(now) {
  const canvas = $('#slot-map');
  const ctx = canvas.getContext('2d');
  const { dpr } = app.slotGeom;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.globalAlpha = 1;
  ctx.drawImage(app.slotBase, 0, 0);
  if (!app.migrationPaths.length) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const pulse = 0.5 + 0.5 * Math.sin(now / 250);
  for (const { path, pattern } of app.migrationPaths) {
    ctx.globalAlpha = 0.15 + 0.2 * pulse;
    ctx.fillStyle = '#ffffff';
    ctx.fill(path);
    ctx.globalAlpha = 0.55 + 0.45 * pulse;
    ctx.fillStyle = pattern;
    ctx.fill(path);
  }
  ctx.globalAlpha = 1;
}

// Animates while migrations exist; otherwise draws a single frame.
function startSlotAnimation() {
  if (app.animating) return;
  if (!app.migrationPaths.length) {
    drawSlotFrame(performance.now());
    return;
  }
  app.animating = true;
  const step = (now) => {
    drawSlotFrame(now);
    if (app.migrationPaths.length) requestAnimationFrame(step);
    else app.animating = false;
  };
  requestAnimationFrame(step);
}

function slotAt(event) {
  const canvas = $('#slot-map');
  const rect = canvas.getBoundingClientRect();
  const col = Math.floor(((event.clientX - rect.left) / rect.width) * GRID_COLS);
  const row = Math.floor(((event.clientY - rect.top) / rect.height) * GRID_ROWS);
  if (col < 0 || col >= GRID_COLS || row < 0 || row >= GRID_ROWS) return -1;
  return row * GRID_COLS + col;
}

function onSlotHover(event) {
  const tooltip = $('#slot-tooltip');
  const slot = slotAt(event);
  if (slot < 0) {
    tooltip.hidden = true;
    return;
  }
  const owner = app.slotIds[app.slotOwner[slot]];
  const target = app.slotIds[app.slotTarget[slot]];
  const node = owner && app.nodes.get(owner);
  let text = `slot ${slot}\n` + (owner ? `owner ${shortId(owner)}${node ? ` (${node.address})` : ''}` : 'unassigned');
  if (target) text += `\nmigrating → ${shortId(target)}`;
  tooltip.textContent = text;
  tooltip.hidden = false;
  tooltip.style.left = `${event.clientX + 14}px`;
  tooltip.style.top = `${event.clientY + 14}px`;
}

// ---------------------------------------------------------------- migrations

function renderMigrations(migrations) {
  syncChildren($('#migrations-active'), migrations.active || [], (m) => m.id, createActiveMigration, updateActiveMigration);
  const history = [...(migrations.history || [])]
    .sort((a, b) => (b.updated_unix || 0) - (a.updated_unix || 0))
    .slice(0, MAX_HISTORY);
  syncChildren($('#migrations-history'), history, (m) => m.id, createHistoryMigration, updateHistoryMigration);
}

function setMigrationData(div, m) {
  div.dataset.id = m.id;
  div.dataset.state = m.state;
  div.dataset.keysMoved = String(m.keys_moved ?? 0);
  div.dataset.keysTotal = String(m.keys_total ?? 0);
  div.dataset.bytesMoved = String(m.bytes_moved ?? 0);
}

function fillRoute(route, m) {
  if (route.dataset.route === `${m.source}>${m.target}`) return;
  route.dataset.route = `${m.source}>${m.target}`;
  route.replaceChildren(nodeChip(m.source), document.createTextNode(' → '), nodeChip(m.target));
}

function createActiveMigration() {
  return element('div', 'migration active',
    '<div class="mig-head"><span class="route"></span><span class="badge state"></span>' +
    '<span class="mig-slots"></span><span class="mig-ranges muted"></span></div>' +
    '<div class="progress"><div class="bar"></div></div>' +
    '<div class="mig-stats muted"></div>');
}

function updateActiveMigration(div, m) {
  setMigrationData(div, m);
  fillRoute($('.route', div), m);
  setBadge($('.state', div), 'state', m.state);
  setText($('.mig-slots', div), `${fmtInt(m.slots)} slots`);
  const ranges = $('.mig-ranges', div);
  setText(ranges, fmtRanges(m.slot_ranges));
  ranges.title = fmtRanges(m.slot_ranges, Infinity);
  const total = m.keys_total || 0;
  const fraction = total > 0 ? Math.min(1, (m.keys_moved || 0) / total) : (m.state === 'handing-off' ? 1 : 0);
  $('.bar', div).style.width = `${(fraction * 100).toFixed(1)}%`;
  $('.bar', div).style.background = colourOf(m.target);
  setText($('.mig-stats', div), [
    `${fmtInt(m.keys_moved)} / ${fmtInt(total)} keys (${Math.floor(fraction * 100)}%)`,
    `${fmtBytes(m.bytes_moved)} moved`,
    `${fmtBytes(m.bytes_per_sec)}/s`,
    `ETA ${fmtDuration(m.eta_secs)}`,
    m.message || '',
  ].filter(Boolean).join(' · '));
}

function createHistoryMigration() {
  return element('div', 'migration finished',
    '<span class="badge state"></span><span class="route"></span>' +
    '<span class="mig-summary muted"></span><span class="mig-time muted"></span>');
}

function updateHistoryMigration(div, m) {
  setMigrationData(div, m);
  setBadge($('.state', div), 'state', m.state);
  fillRoute($('.route', div), m);
  const summary = `${fmtInt(m.slots)} slots (${fmtRanges(m.slot_ranges, 2)}) · ` +
    `${fmtInt(m.keys_moved)} keys · ${fmtBytes(m.bytes_moved)}` + (m.message ? ` · ${m.message}` : '');
  setText($('.mig-summary', div), summary);
  div.title = m.message || '';
  setText($('.mig-time', div), m.updated_unix ? fmtClock(m.updated_unix * 1000) : '');
}

// ---------------------------------------------------------------- charts

function addPoint(id, point) {
  let points = app.series.get(id);
  if (!points) app.series.set(id, (points = []));
  if (points.length && points[points.length - 1][0] >= point[0]) return; // duplicate or old
  points.push(point);
  if (points.length > MAX_POINTS) points.splice(0, points.length - MAX_POINTS);
}

// Merges GET api/v1/history with any samples that arrived before it.
function loadHistory(history) {
  for (const { node, points } of history.series || []) {
    const merged = [...(points || []), ...(app.series.get(node) || [])].sort((a, b) => a[0] - b[0]);
    app.series.set(node, merged.filter((p, i) => i === 0 || p[0] > merged[i - 1][0]).slice(-MAX_POINTS));
  }
  assignColours([...app.series.keys(), ...app.nodes.keys()]);
  scheduleCharts();
}

function onSample(sample) {
  for (const n of sample.nodes || []) addPoint(n.node, [sample.unix_ms, n.ops_per_sec, n.memory_bytes]);
  scheduleCharts();
}

function scheduleCharts() {
  if (app.chartQueued) return;
  app.chartQueued = true;
  requestAnimationFrame(() => {
    app.chartQueued = false;
    drawCharts();
  });
}

function drawCharts() {
  // Drop nodes with no point in the window (they left the cluster).
  let end = 0;
  for (const points of app.series.values()) end = Math.max(end, points[points.length - 1]?.[0] || 0);
  for (const [id, points] of app.series) {
    if (!points.length || points[points.length - 1][0] < end - CHART_WINDOW_MS) app.series.delete(id);
  }
  assignColours([...app.series.keys(), ...app.nodes.keys()]);
  drawChart($('#chart-ops'), 1, fmtCompact, niceDecimal, end);
  drawChart($('#chart-memory'), 2, fmtBytes, niceBytes, end);
  renderChartLegend($('#chart-ops-legend'), 1, fmtCompact);
  renderChartLegend($('#chart-memory-legend'), 2, fmtBytes);
}

// Smallest 1/2/2.5/5 x 10^n at or above v.
function niceDecimal(v) {
  const exp = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * exp).find((x) => x >= v);
}

function niceBytes(v) {
  let unit = 1;
  while (v / unit >= 1024) unit *= 1024;
  return niceDecimal(v / unit) * unit;
}

function drawChart(canvas, field, format, nice, end) {
  const [dpr, width, height] = [window.devicePixelRatio || 1, canvas.clientWidth, canvas.clientHeight];
  if (!width || !height) return;
  if (canvas.width !== Math.round(width * dpr)) canvas.width = Math.round(width * dpr);
  if (canvas.height !== Math.round(height * dpr)) canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);

  const pad = { left: 58, right: 10, top: 8, bottom: 18 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  end = end || Date.now();
  const start = end - CHART_WINDOW_MS;
  let max = 0;
  for (const points of app.series.values()) {
    for (const p of points) if (p[0] >= start && p[field] > max) max = p[field];
  }
  const top = nice(max > 0 ? max : 1);
  const xOf = (t) => pad.left + ((t - start) / CHART_WINDOW_MS) * plotW;
  const yOf = (v) => pad.top + plotH - (v / top) * plotH;

  // horizontal grid with value labels, then minute labels along the bottom
  Object.assign(ctx, { font: `11px ${FONT}`, lineWidth: 1, strokeStyle: 'rgba(255, 255, 255, 0.08)',
    fillStyle: '#8b93a3', textAlign: 'right', textBaseline: 'middle' });
  ctx.beginPath();
  for (let i = 0; i <= 4; i++) {
    const y = Math.round(yOf((top * i) / 4)) + 0.5;
    ctx.moveTo(pad.left, y);
    ctx.lineTo(width - pad.right, y);
    ctx.fillText(format((top * i) / 4), pad.left - 6, y);
  }
  ctx.stroke();
  ctx.textBaseline = 'top';
  for (let m = 0; m < 5; m++) {
    ctx.textAlign = m === 0 ? 'right' : 'center';
    ctx.fillText(m === 0 ? 'now' : `-${m}m`, xOf(end - m * 60000), height - pad.bottom + 4);
  }

  ctx.save();
  ctx.beginPath();
  ctx.rect(pad.left, pad.top - 2, plotW, plotH + 4);
  ctx.clip();
  Object.assign(ctx, { lineWidth: 1.6, lineJoin: 'round' });
  for (const [id, points] of [...app.series].sort(byId)) {
    ctx.strokeStyle = colourOf(id);
    ctx.beginPath();
    points.filter((p) => p[0] >= start - 2000).forEach((p, i) => {
      ctx[i ? 'lineTo' : 'moveTo'](xOf(p[0]), yOf(p[field]));
    });
    ctx.stroke();
  }
  ctx.restore();
}

function renderChartLegend(container, field, format) {
  const entries = [...app.series].sort(byId);
  syncChildren(container, entries, ([id]) => id, createLegendItem, (item, [id, points]) => {
    $('.swatch', item).style.background = colourOf(id);
    setText($('.sid', item), shortId(id));
    const last = points[points.length - 1];
    setText($('.count', item), last ? format(last[field]) : '—');
    item.title = id;
  });
}

// ---------------------------------------------------------------- event log

// Newest first; events replayed after a reconnect are recognised by seq+time.
function onLog(event) {
  const key = `${event.seq}:${event.unix_ms}`;
  if (app.logKeys.has(key)) return;
  app.logKeys.add(key);
  const li = element('li', '', '<time></time><span class="kind"></span><span class="msg"></span>');
  li.dataset.kind = event.kind;
  li.dataset.key = key;
  li.dataset.t = String(event.unix_ms);
  li.dataset.seq = String(event.seq);
  setText($('time', li), fmtClock(event.unix_ms));
  $('time', li).title = new Date(event.unix_ms).toISOString();
  setText($('.kind', li), String(event.kind ?? '').replace(/_/g, ' '));
  setText($('.msg', li), event.message);
  if (event.node) li.title = `node ${event.node}`;

  const list = $('#events-log');
  let before = list.firstElementChild;
  const newer = (other) => Number(other.dataset.t) > event.unix_ms ||
    (Number(other.dataset.t) === event.unix_ms && Number(other.dataset.seq) > event.seq);
  while (before && newer(before)) before = before.nextElementSibling;
  list.insertBefore(li, before);
  while (list.children.length > MAX_LOG) {
    app.logKeys.delete(list.lastElementChild.dataset.key);
    list.lastElementChild.remove();
  }
}

// ---------------------------------------------------------------- actions

function showStatus(text, kind) {
  const status = $('#action-status');
  status.textContent = text;
  status.title = text;
  status.dataset.kind = kind;
}

function describeReply(status, body) {
  if (!body) return '';
  if (body.error) {
    return body.error + (status === 401 && !app.token ? ' (enter the admin token)' : '');
  }
  if (Array.isArray(body.moves)) {
    if (!body.moves.length) return 'already balanced, no moves';
    const slots = body.moves.reduce((sum, m) => sum + (m.slots || 0), 0);
    const routes = body.moves.slice(0, 3).map((m) => `${shortId(m.source)}→${shortId(m.target)}`).join(', ');
    const more = body.moves.length > 3 ? ', …' : '';
    return `${body.moves.length} move${body.moves.length === 1 ? '' : 's'} planned, ${fmtInt(slots)} slots (${routes}${more})`;
  }
  if ('cancelled' in body) return `${body.cancelled} migration${body.cancelled === 1 ? '' : 's'} cancelled`;
  return JSON.stringify(body).slice(0, 120);
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch (err) {
    return null;
  }
}

async function postAction(label, path, button) {
  if (button) button.disabled = true;
  showStatus(`${label}…`, 'pending');
  try {
    const res = await fetch(apiUrl(path), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...authHeaders(true) },
      body: '{}',
    });
    const text = await res.text();
    const body = parseJson(text) ?? (text ? { error: text.slice(0, 200) } : null);
    const detail = describeReply(res.status, body);
    showStatus(`${label}: ${res.status}${detail ? ` — ${detail}` : ''}`, res.ok ? 'ok' : 'err');
  } catch (err) {
    showStatus(`${label}: request failed (${err.message})`, 'err');
  } finally {
    if (button) button.disabled = false;
  }
}

function setupActions() {
  $('#actions-form').addEventListener('submit', (e) => e.preventDefault()); // Enter in the token field
  const input = $('#admin-token');
  input.value = app.token;
  let reconnectSoon = 0;
  input.addEventListener('input', () => {
    app.token = input.value.trim();
    if (app.token) localStorage.setItem(TOKEN_KEY, app.token);
    else localStorage.removeItem(TOKEN_KEY);
    // With protected reads the stream URL carries the token: reconnect.
    if (app.readsProtected) {
      clearTimeout(reconnectSoon);
      reconnectSoon = setTimeout(connect, 600);
    }
  });
  for (const [selector, label, path] of [['#rebalance-btn', 'Rebalance', 'api/v1/rebalance'],
    ['#cancel-btn', 'Cancel migrations', 'api/v1/migrations/cancel']]) {
    $(selector).addEventListener('click', (e) => postAction(label, path, e.currentTarget));
  }
}

// ---------------------------------------------------------------- start

function onResize() {
  updateSlotGeometry();
  drawSlotBase();
  buildMigrationPaths();
  drawSlotFrame(performance.now());
  scheduleCharts();
}

async function start() {
  setupActions();
  onResize(); // size the canvases and draw the empty slot map and chart axes
  const slotCanvas = $('#slot-map');
  slotCanvas.addEventListener('mousemove', onSlotHover);
  slotCanvas.addEventListener('mouseleave', () => { $('#slot-tooltip').hidden = true; });
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(onResize, 100);
  });
  try {
    loadHistory(await getJson('api/v1/history'));
  } catch (err) {
    console.warn('history unavailable:', err.message);
    showAuthHint();
  }
  connect();
}

start();
