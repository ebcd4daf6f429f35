// The status page: fetches the node's status document every 2 s and draws
// it. Plain JavaScript with no dependencies, since the page is embedded in
// the binary and must work without internet access.
'use strict';

(function () {
  const REFRESH_MS = 2000;
  const FETCH_TIMEOUT_MS = 5000;
  // Outcomes that are not failures; everything else counts as an error.
  const FINE = new Set(['ok', 'not_found', 'exists']);

  const $ = (id) => document.getElementById(id);
  // Taken from the SVG element the HTML parser made, so that no namespace
  // URL has to be written into the page's files.
  const SVG_NS = $('ring').namespaceURI;

  let lastAt = null;      // when it was fetched (Date)
  let prevRequests = null; // {at: ms, series: Map} of the previous refresh
  let ringKey = '';       // what the ring was last drawn from

  // Members' colours: a palette of ten well-separated colours (none of them
  // the red that marks a down owner), given in the order of the members'
  // names, so that every node's page colours the same cluster alike; past
  // ten, hues a golden angle apart. setColours runs at each refresh.
  const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2',
    '#edc948', '#9c755f', '#ff9da7', '#2f4b7c', '#8cd17d'];
  let colours = new Map();
  function setColours(names) {
    colours = new Map([...names].sort().map((n, i) => [n, i < PALETTE.length ? PALETTE[i] : extra(i - PALETTE.length)]));
  }
  // extra is the i-th colour past the palette: hues a golden angle apart,
  // kept out of 30 degrees either side of red.
  function extra(i) {
    const hue = 30 + ((i * 137.508 + 15) % 300);
    return `hsl(${Math.round(hue)} 55% 45%)`;
  }
  function colour(name) {
    return colours.get(name) || '#888';
  }

  function num(v) {
    return Number(v || 0).toLocaleString('en-US');
  }

  function rate(v) {
    if (v >= 100) return Math.round(v).toLocaleString('en-US');
    if (v >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  function svg(tag, attrs) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }

  function setText(id, v) {
    const e = $(id);
    if (e.textContent !== String(v)) e.textContent = v;
  }

  // sector is the path of the ring slice between angles a0 and a1
  // (radians, clockwise from 12 o'clock) and radii r0 < r1.
  function sector(a0, a1, r0, r1) {
    const span = Math.min(a1 - a0, 2 * Math.PI - 1e-4); // Q = 1: a full circle is two equal points
    a1 = a0 + span;
    const large = span > Math.PI ? 1 : 0;
    const p = (r, a) => `${(r * Math.sin(a)).toFixed(3)} ${(-r * Math.cos(a)).toFixed(3)}`;
    return `M${p(r1, a0)}A${r1} ${r1} 0 ${large} 1 ${p(r1, a1)}L${p(r0, a1)}A${r0} ${r0} 0 ${large} 0 ${p(r0, a0)}Z`;
  }

  function drawHeader(d) {
    setText('node-name', d.node);
    setText('node-addr', d.addr);
    setText('q', d.partitions);
    setText('n', d.n);
    setText('r', d.r);
    setText('w', d.w);
    $('leaving').hidden = !d.leaving;
    document.title = `dynamo ${d.node}`;
  }

  function drawRing(d, states) {
    const ring = d.ring || [];
    // Redraw only when ownership or health changed: a thousand paths every
    // 2 s would be wasted work and would close an open tooltip.
    const key = JSON.stringify([ring, [...states]]);
    if (key === ringKey) return;
    ringKey = key;

    const segs = $('ring-segments');
    const marks = $('ring-marks');
    const q = ring.length;
    const gap = q <= 128 ? 0.6 : 0; // thin separators while slices are wide enough to show them
    const fs = document.createDocumentFragment();
    const fm = document.createDocumentFragment();
    const first = new Map();
    let degraded = 0;
    ring.forEach((owners, p) => {
      const a0 = (2 * Math.PI * p) / q;
      const a1 = (2 * Math.PI * (p + 1)) / q;
      const owner = owners[0] || '';
      first.set(owner, (first.get(owner) || 0) + 1);
      const down = owners.filter((o) => states.get(o) === 'down');
      const shape = sector(a0, a1, 64, 100);
      const path = svg('path', {
        d: shape, fill: owner ? colour(owner) : '#bbb', 'stroke-width': gap,
        class: 'seg' + (down.length ? ' degraded' : ''),
        'data-partition': p, 'data-owner': owner, 'data-owners': owners.join(','),
        'data-degraded': down.length ? 'true' : 'false',
      });
      const title = svg('title');
      title.textContent = `partition ${p}: owners ${owners.join(', ')}` + (down.length ? ` (down: ${down.join(', ')})` : '');
      path.append(title);
      fs.append(path);
      if (down.length) {
        degraded++;
        fm.append(svg('path', { d: shape, fill: 'url(#hatch)', class: 'hatch' }));
        fm.append(svg('path', { d: sector(a0, a1, 102, 109), class: 'mark', 'data-mark': p }));
      }
    });
    segs.replaceChildren(fs);
    marks.replaceChildren(fm);

    setText('ring-q', `Q ${q}`);
    setText('ring-sub', `N ${d.n} · ${states.size} members`);
    setText('ring-degraded', degraded ? `${degraded} with a down owner` : '');
    $('ring').setAttribute('data-segments', q);
    $('ring').setAttribute('data-degraded', degraded);

    const legend = $('legend');
    legend.replaceChildren(...[...states.keys()].map((name) => {
      const st = states.get(name);
      return el('li', { 'data-legend': name, class: st },
        el('span', { class: 'swatch', style: `background:${colour(name)}` }),
        `${name} `, el('span', { class: 'muted' }, `${first.get(name) || 0}`));
    }));
  }

  function drawMembers(d) {
    const rows = (d.members || []).map((m) => {
      const tr = el('tr', { 'data-member': m.name, 'data-state': m.state, class: 'state-' + m.state },
        el('td', {}, el('span', { class: 'swatch', style: `background:${colour(m.name)}` }), m.name,
          m.name === d.node ? el('span', { class: 'self' }, ' this node') : ''),
        el('td', { class: 'addr' }, m.addr || '–'),
        el('td', {}, m.zone || '–'),
        el('td', { class: 'num' }, String(m.weight)),
        el('td', {}, el('span', { class: 'badge ' + m.state, 'data-health': m.state }, m.state)),
        el('td', { class: 'num', 'data-partitions': m.partitions }, num(m.partitions)));
      return tr;
    });
    $('members').tBodies[0].replaceChildren(...rows);
    const count = (s) => (d.members || []).filter((m) => m.state === s).length;
    const parts = [`${count('up')} up`];
    if (count('down')) parts.push(`${count('down')} down`);
    if (count('leaving')) parts.push(`${count('leaving')} leaving`);
    setText('members-summary', parts.join(' · '));
  }

  function drawWork(d) {
    const s = d.stats || {}, h = d.handoff || {}, ae = d.anti_entropy || {};
    setText('hints-pending', num(s.hints_pending));
    setText('hints-delivered', num(s.hints_delivered));
    setText('handoff-pending', num(h.pending));
    setText('handoff-in-transit', h.in_transit >= 0 ? `p${h.in_transit}` : 'none');
    setText('handoff-done', num(h.done));
    setText('handoff-keys', num(h.keys));
    setText('handoff-failures', num(h.failures));
    $('handoff-failures').parentElement.hidden = !h.failures;
    setText('ae-exchanges', num(ae.exchanges));
    setText('ae-keys-repaired', num(ae.keys_repaired));
    setText('ae-failures', num(ae.failures));
    $('ae-failures').parentElement.hidden = !ae.failures;
    setText('restarts', num(s.restarts));
    setText('vnodes', num(s.vnodes));
    $('hints-pending').classList.toggle('busy', s.hints_pending > 0);
    $('handoff-pending').classList.toggle('busy', h.pending > 0);
    $('restarts').classList.toggle('bad', s.restarts > 0);
  }

  // drawRequests shows per-operation rates from the counters' change since
  // the previous refresh; the first refresh has nothing to compare with
  // and shows the totals since the node started.
  function drawRequests(d, at) {
    const series = new Map();
    for (const r of d.requests || []) {
      series.set(r.op + '\u0000' + r.outcome, { op: r.op, outcome: r.outcome, count: r.count, sumMs: r.mean_ms * r.count });
    }
    const prev = prevRequests;
    prevRequests = { at, series };
    const dt = prev ? (at - prev.at) / 1000 : 0;
    const rates = prev !== null && dt > 0;

    const ops = new Map();
    for (const [k, s] of series) {
      let n = s.count, sum = s.sumMs;
      const p = rates ? prev.series.get(k) : null;
      if (rates && p && p.count <= s.count) { // a smaller count means the node restarted: take it all
        n -= p.count;
        sum -= p.sumMs;
      }
      const o = ops.get(s.op) || { total: 0, n: 0, sum: 0, errors: 0, errorsTotal: 0, bad: [] };
      o.total += s.count;
      if (!FINE.has(s.outcome)) o.errorsTotal += s.count;
      o.n += n;
      o.sum += sum;
      if (!FINE.has(s.outcome)) {
        o.errors += n;
        if (n > 0) o.bad.push([s.outcome, n]);
      }
      ops.set(s.op, o);
    }

    const per = (v) => (rates ? rate(v / dt) : num(v));
    const rows = [...ops.keys()].sort().map((op) => {
      const o = ops.get(op);
      const errCell = el('td', { class: 'num' + (o.errors ? ' bad' : ''), 'data-errors': rates ? (o.errors / dt).toFixed(3) : o.errors }, per(o.errors));
      if (o.bad.length) {
        errCell.append(el('div', { class: 'outcomes' }, o.bad.map(([out, n]) => `${out} ${per(n)}`).join(', ')));
      }
      return el('tr', { 'data-op': op, 'data-rate': rates ? (o.n / dt).toFixed(3) : o.n, class: o.errors ? 'has-errors' : '' },
        el('td', {}, op),
        el('td', { class: 'num' }, per(o.n)),
        errCell,
        el('td', { class: 'num' }, o.n > 0 ? (o.sum / o.n).toFixed(1) : '–'),
        el('td', { class: 'num' }, num(o.total),
          // Past failures stay visible after their rate has dropped to 0.
          o.errorsTotal ? el('div', { class: 'outcomes bad' }, `${num(o.errorsTotal)} failed`) : ''));
    });
    if (!rows.length) rows.push(el('tr', { class: 'empty' }, el('td', { colspan: 5, class: 'muted' }, 'no requests yet')));
    $('requests-table').tBodies[0].replaceChildren(...rows);
    $('requests').setAttribute('data-mode', rates ? 'rates' : 'totals');
    setText('rate-head', rates ? 'ops/s' : 'requests');
    setText('errors-head', rates ? 'errors/s' : 'errors');
    setText('requests-mode', rates ? `per second over the last ${dt.toFixed(1)} s` : 'since the node started (rates from the next refresh)');
  }

  function draw(d, at) {
    const states = new Map((d.members || []).map((m) => [m.name, m.state]));
    setColours(states.keys());
    drawHeader(d);
    drawRing(d, states);
    drawMembers(d);
    drawWork(d);
    drawRequests(d, at);
  }

  function showError(msg) {
    const e = $('error');
    e.textContent = `Cannot load the status: ${msg}. ` +
      (lastAt ? `Showing the data of ${lastAt.toLocaleTimeString()}.` : 'No data yet.');
    e.hidden = false;
    document.body.setAttribute('data-stale', 'true');
  }

  // Charts of the node's last minutes (GET status/history): one small SVG
  // line chart per figure, a line per operation or per node.
  const OP_COLOURS = { get: '#4e79a7', put: '#f28e2b', delete: '#59a14f', get_many: '#b07aa1', list: '#76b7b2' };
  const CHARTS = [
    { id: 'chart-rate', title: 'requests per second', unit: '/s', lines: (p) => opLines(p, 'rate') },
    { id: 'chart-p99', title: 'p99 latency', unit: ' ms', lines: (p) => opLines(p, 'p99_ms') },
    { id: 'chart-errors', title: 'errors per second', unit: '/s', lines: (p) => total(p, 'errors', (pt) => Object.values(pt.ops || {}).reduce((a, o) => a + o.errors, 0)) },
    { id: 'chart-hints', title: 'hints pending', unit: '', lines: (p) => total(p, 'hints', (pt) => pt.hints_pending) },
    { id: 'chart-repairs', title: 'anti-entropy repairs per second', unit: '/s', lines: (p) => total(p, 'repairs', (pt) => pt.repairs) },
    { id: 'chart-keys', title: 'keys per node', unit: '', lines: (p) => nodeLines(p, 'keys') },
    { id: 'chart-bytes', title: 'storage per node', unit: ' B', lines: (p) => nodeLines(p, 'bytes') },
  ];

  function opLines(points, field) {
    const ops = [...new Set(points.flatMap((pt) => Object.keys(pt.ops || {})))].sort();
    return ops.map((op) => ({ name: op, colour: OP_COLOURS[op] || '#888', values: points.map((pt) => (pt.ops[op] || {})[field] || 0) }));
  }
  function nodeLines(points, field) {
    const names = [...new Set(points.flatMap((pt) => Object.keys(pt.nodes || {})))].sort();
    return names.map((n) => ({ name: n, colour: colour(n), values: points.map((pt) => (pt.nodes[n] ? pt.nodes[n][field] : null)) }));
  }
  function total(points, name, f) {
    return [{ name, colour: '#555', values: points.map(f) }];
  }

  function short(v) {
    if (v >= 1e9) return (v / 1e9).toFixed(1) + 'G';
    if (v >= 1e6) return (v / 1e6).toFixed(1) + 'M';
    if (v >= 1e4) return (v / 1e3).toFixed(0) + 'k';
    if (v >= 100) return Math.round(v).toString();
    return Number(v.toFixed(2)).toString();
  }

  function drawCharts(h) {
    const points = h.points || [];
    const box = $('charts');
    box.setAttribute('data-points', points.length);
    box.setAttribute('data-last-at', points.length ? points[points.length - 1].at : '');
    setText('charts-span', points.length > 1
      ? `the last ${Math.round((points[points.length - 1].at - points[0].at) / 1000)} s, one point per ${Math.round((points[1].at - points[0].at) / 100) / 10} s`
      : 'collecting…');
    const figs = CHARTS.map((c) => {
      const lines = c.lines(points);
      const W = 240, H = 60;
      let hi = 0;
      for (const l of lines) for (const v of l.values) if (v !== null && v > hi) hi = v;
      const y = (v) => (H - 2 - (hi > 0 ? (v / hi) * (H - 6) : 0)).toFixed(1);
      const x = (i) => (points.length > 1 ? (i * W) / (points.length - 1) : 0).toFixed(1);
      const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', preserveAspectRatio: 'none' });
      chart.append(svg('line', { x1: 0, y1: H - 1, x2: W, y2: H - 1, class: 'axis' }));
      const keys = el('ul', { class: 'chart-keys' });
      for (const l of lines) {
        const pts = [];
        l.values.forEach((v, i) => { if (v !== null) pts.push(`${x(i)},${y(v)}`); });
        const last = [...l.values].reverse().find((v) => v !== null);
        chart.append(svg('polyline', { points: pts.join(' '), stroke: l.colour, class: 'line',
          'data-series': l.name, 'data-count': pts.length, 'data-last': last === undefined ? '' : String(last) }));
        keys.append(el('li', {}, el('span', { class: 'swatch', style: `background:${l.colour}` }),
          `${l.name} `, el('b', {}, last === undefined ? '–' : short(last) + c.unit)));
      }
      return el('figure', { class: 'chart', id: c.id, 'data-lines': lines.length },
        el('figcaption', {}, c.title, el('span', { class: 'muted' }, hi > 0 ? ` max ${short(hi)}${c.unit}` : '')), chart, keys);
    });
    box.replaceChildren(...figs);
  }

  async function refreshHistory() {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
    try {
      const res = await fetch('status/history', { cache: 'no-store', signal: ctl.signal });
      if (res.ok) drawCharts(await res.json());
    } catch (_) { /* the status fetch reports the node unreachable */
    } finally {
      clearTimeout(timer);
    }
  }

  // The key inspector: each owner's copy of a key (GET inspect?key=). Only
  // the latest request's answer is shown.
  let inspectSeq = 0;
  async function inspect(key) {
    const out = $('inspect-result');
    const seq = ++inspectSeq;
    out.setAttribute('data-state', 'loading');
    try {
      const res = await fetch('inspect?key=' + encodeURIComponent(key), { cache: 'no-store' });
      const d = await res.json();
      if (seq !== inspectSeq) return;
      if (!res.ok) throw new Error(d.error || `HTTP ${res.status}`);
      const verdict = el('p', { id: 'inspect-verdict', class: d.agree ? 'agree' : 'differ', 'data-agree': String(d.agree) },
        d.agree ? `The ${d.replicas.length} owners agree` : 'The owners differ', ` · partition ${d.partition}`);
      const rows = d.replicas.map((r) => {
        const sibs = el('ul', { class: 'siblings' }, ...(r.siblings || []).map((s) =>
          el('li', { 'data-dot': s.dot, class: s.live ? 'live' : 'dead' },
            el('code', {}, s.dot), ' ',
            s.tombstone ? el('span', { class: 'badge down' }, 'deleted')
              : el('span', { class: 'value' }, s.text !== undefined && s.text !== '' ? JSON.stringify(s.text) : `${s.bytes} bytes`),
            !s.tombstone && !s.live ? el('span', { class: 'badge leaving' }, 'expired') : '',
            el('span', { class: 'muted' }, ` written ${s.written}` + (s.expires ? `, expires ${s.expires}` : '')))));
        const clock = (r.clock || []).map((e) => `${e.actor}:${e.counter}`).join(' ');
        return el('tr', { 'data-replica': r.node, 'data-digest': r.digest || '', 'data-found': String(r.found), 'data-siblings': (r.siblings || []).length },
          el('td', {}, el('span', { class: 'swatch', style: `background:${colour(r.node)}` }), r.node,
            el('div', { class: 'muted' }, r.state)),
          el('td', {}, r.error ? el('span', { class: 'bad' }, r.error) : r.found ? el('code', {}, r.digest) : el('span', { class: 'muted' }, 'absent')),
          el('td', { class: 'clock' }, clock ? el('code', {}, clock) : '–'),
          el('td', {}, sibs));
      });
      const table = el('table', { id: 'inspect-table' },
        el('thead', {}, el('tr', {}, el('th', {}, 'owner'), el('th', {}, 'digest'), el('th', {}, 'clock'), el('th', {}, 'siblings'))),
        el('tbody', {}, ...rows));
      out.replaceChildren(verdict, table);
      out.setAttribute('data-state', 'done');
      out.setAttribute('data-key', key);
    } catch (err) {
      if (seq !== inspectSeq) return;
      out.replaceChildren(el('p', { class: 'error' }, `Cannot inspect ${JSON.stringify(key)}: ${err.message}`));
      out.setAttribute('data-state', 'error');
    }
  }

  $('inspect-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = $('inspect-key').value;
    if (key) {
      history.replaceState(null, '', '#inspect=' + encodeURIComponent(key));
      inspect(key);
    }
  });

  async function refresh() {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
    try {
      const res = await fetch('status', { cache: 'no-store', signal: ctl.signal });
      const body = await res.text();
      if (!res.ok) {
        let msg = `HTTP ${res.status}`;
        try { msg += ': ' + JSON.parse(body).error; } catch (_) { /* not JSON: the status code says enough */ }
        throw new Error(msg);
      }
      const d = JSON.parse(body);
      const at = performance.now();
      draw(d, at);
      await refreshHistory();
      lastAt = new Date();
      const t = $('refreshed');
      t.textContent = lastAt.toLocaleTimeString();
      t.setAttribute('datetime', lastAt.toISOString());
      $('error').hidden = true;
      document.body.setAttribute('data-stale', 'false');
      document.body.setAttribute('data-loaded', 'true');
    } catch (err) {
      showError(err.name === 'AbortError' ? 'no answer within 5 s' : err.message);
    } finally {
      clearTimeout(timer);
      // Chained rather than setInterval so that a slow node never has
      // requests piling up.
      setTimeout(refresh, REFRESH_MS);
    }
  }

  refresh().then(() => {
    // #inspect=KEY opens the page on that key's inspection.
    const m = /^#inspect=(.*)$/.exec(location.hash);
    if (m) {
      let key = m[1];
      try { key = decodeURIComponent(key); } catch (_) { /* not percent-encoded: take it as it is */ }
      $('inspect-key').value = key;
      inspect(key);
    }
  });
})();
