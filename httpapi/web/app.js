// The status page: fetches the node's status document every 2 s and draws
// it. Plain JavaScript with no dependencies, since the page is embedded in
// the binary and must work without internet access.
'use strict';

(function () {
  const REFRESH_MS = 2000;
  const FETCH_TIMEOUT_MS = 5000;
  // Outcomes that are not failures; everything else counts as an error.
  const FINE = new Set(['ok', 'not_found']);

  const $ = (id) => document.getElementById(id);
  // Taken from the SVG element the HTML parser made, so that no namespace
  // URL has to be written into the page's files.
  const SVG_NS = $('ring').namespaceURI;

  let lastAt = null;      // when it was fetched (Date)
  let prevRequests = null; // {at: ms, series: Map} of the previous refresh
  let ringKey = '';       // what the ring was last drawn from

  // colour is a member's colour: stable across refreshes, nodes and page
  // loads because it only depends on the name. FNV-1a alone gives names
  // that differ in their last character (n1, n3) nearly the same hue, so
  // its result is mixed further (murmur3's finalizer) before picking the
  // hue, and the lightness varies too to split hues that land close.
  function colour(name) {
    let h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) {
      h ^= name.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    h >>>= 0;
    const hue = h % 360;
    const sat = 55 + ((h >>> 9) % 4) * 8;
    const light = [38, 48, 58][(h >>> 13) % 3];
    return `hsl(${hue} ${sat}% ${light}%)`;
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

  refresh();
})();
