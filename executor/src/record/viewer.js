// The recording's viewer: steps a recorded glassbox run forwards and backwards.
//
// The run is embedded as JSON (`#glassbox-run`, written by executor/src/record/).
// Each turn is a frame: the turn's events, in the order the loop did them, and the
// state at its end, whole (a keyframe) or as what changed (a delta). The state at
// turn K is rebuilt from the nearest keyframe before it, so stepping back costs as
// little as stepping on.
//
// The cursor is a turn and a place in it: event i (0 <= i < events), or the turn's
// end (i = events). Before the turn's end the panes show the state as the turn
// began (the end of the turn before), with the polls done so far marked; at the
// end, the state Rust recorded.
//
// `#turn=K` (and `&event=I`) opens the page at that moment.
//
// Two modes for tests (issue 30's contract):
//   ?selftest      rebuild every turn forwards, then backwards, and check each
//                  against the digest Rust wrote: <pre id="glassbox-selftest">
//   ?dump#turn=K   the state at the end of turn K as JSON: <pre id="glassbox-dump">
"use strict";

const run = JSON.parse(document.getElementById("glassbox-run").textContent);
const frames = run.turns;

// === rebuilding the state ===

// The state before the first recorded turn: nothing yet.
function emptyState() {
  return { turn: 0, now_us: 0, ready: [], tasks: [], timers: [], io: [], blocking_in_flight: 0 };
}

function copy(value) {
  return JSON.parse(JSON.stringify(value));
}

// Applies one frame's delta to `state` (in place). Keys keep their places, so the
// state stringifies exactly as Rust wrote its canonical text.
function applyDelta(state, delta) {
  state.turn = delta.turn;
  for (const key of ["now_us", "ready", "timers", "io", "blocking_in_flight"]) {
    if (key in delta) state[key] = delta[key];
  }
  if (delta.tasks_gone) {
    const gone = new Set(delta.tasks_gone);
    state.tasks = state.tasks.filter((task) => !gone.has(task.id));
  }
  for (const row of delta.tasks_set || []) {
    const at = state.tasks.findIndex((task) => task.id === row.id);
    if (at >= 0) state.tasks[at] = row;
    else state.tasks.push(row);
  }
  state.tasks.sort((a, b) => a.id - b.id);
}

// The state at the end of frame `f`, rebuilt from the nearest keyframe at or
// before it. Frame -1 is the empty state before the run.
function stateAt(f) {
  if (f < 0) return emptyState();
  let key = f;
  while (!frames[key].state) key -= 1;
  const state = copy(frames[key].state);
  for (let g = key + 1; g <= f; g += 1) applyDelta(state, frames[g].delta);
  return state;
}

// 32-bit FNV-1a over the UTF-8 bytes of `text`, as 8 hex digits (record/json.rs).
function digest(text) {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

// === the two test modes ===

function selftest() {
  const out = document.getElementById("glassbox-selftest");
  out.hidden = false;
  const check = (f, state) => {
    const seen = digest(JSON.stringify(state));
    if (seen !== frames[f].digest) {
      throw new Error(`fail at turn ${frames[f].turn}: digest ${seen}, recorded ${frames[f].digest}`);
    }
  };
  try {
    // Forwards: one state carried from turn to turn, as stepping on does.
    let state = emptyState();
    for (let f = 0; f < frames.length; f += 1) {
      if (frames[f].state) state = copy(frames[f].state);
      else applyDelta(state, frames[f].delta);
      check(f, state);
    }
    // Backwards: each turn rebuilt afresh from its keyframe, as stepping back does.
    for (let f = frames.length - 1; f >= 0; f -= 1) check(f, stateAt(f));
    out.textContent = `pass ${frames.length} turns forward, ${frames.length} back`;
  } catch (error) {
    out.textContent = error.message.startsWith("fail") ? error.message : `fail at turn ?: ${error.message}`;
  }
}

function dump(turn) {
  const out = document.getElementById("glassbox-dump");
  out.hidden = false;
  const f = frames.findIndex((frame) => frame.turn === turn);
  out.textContent = f < 0 ? `no turn ${turn} in this recording` : JSON.stringify(stateAt(f));
}

// === what the page shows ===

const names = run.names || {};
// Every poll of each task, as [frame, event] in run order: "why did this run" walks it.
const pollsOf = new Map();
frames.forEach((frame, f) => {
  frame.events.forEach((event, i) => {
    if (event.kind !== "poll") return;
    if (!pollsOf.has(event.task)) pollsOf.set(event.task, []);
    pollsOf.get(event.task).push([f, i]);
  });
});

let cursor = { f: 0, i: 0 };
let shown = { key: null, state: null }; // the last state rebuilt, to step without rebuilding

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function ms(us) {
  const micros = Number(us);
  return `${Math.floor(micros / 1000)}.${String(micros % 1000).padStart(3, "0")} ms`;
}

function taskName(id) {
  return names[id] ? `task ${id} "${names[id]}"` : `task ${id}`;
}

function owner(who) {
  return typeof who === "number" ? taskName(who) : who;
}

// One event as a line of the log.
function describe(event) {
  switch (event.kind) {
    case "poll": {
      const outcome = event.ready ? "Ready" : "Pending";
      const took = "took_us" in event ? ` in ${event.took_us} µs` : "";
      const waited = event.waited_in ? `, out of ${event.waited_in}` : "";
      const stall = event.stall ? " STALL: it held the loop past the stall threshold" : "";
      return `poll ${taskName(event.task)} → ${outcome}${took} (woken by ${event.cause || "?"}${waited})${stall}`;
    }
    case "timer":
      return `timer due ${ms(event.deadline_us)} fires (L${event.level} s${event.slot}, late ${ms(event.late_us)})`;
    case "park": {
      const slept = "slept_us" in event ? `, slept ${event.slept_us} µs` : "";
      return `park: ${event.text}${slept}`;
    }
    case "io": {
      const ready = [event.readable && "READABLE", event.writable && "WRITABLE"].filter(Boolean).join(" ");
      const woken = event.woken.length ? ` → ${event.woken.map(owner).join(", ")}` : "";
      return `io token ${event.token} ${ready}${woken}`;
    }
    case "forced_yield":
      return `coop budget spent: ${taskName(event.task)} yields, woken again`;
    case "remote":
      return `remote wake taken in: ${taskName(event.task)}`;
    case "clock":
      return `paused clock jumps to ${ms(event.to_us)}`;
    default:
      return event.kind;
  }
}

function flagged(event) {
  return event.kind === "forced_yield" || (event.kind === "poll" && event.stall);
}

// The state as frame `f` began: the turn before's end, and what changed between
// the two turns (the `block_on` future, or the code stepping, ran meanwhile).
function stateBefore(f) {
  const state = stateAt(f - 1);
  if (frames[f].before) applyDelta(state, frames[f].before);
  return state;
}

// The state the panes show at the cursor.
function stateAtCursor() {
  const frame = frames[cursor.f];
  const key = cursor.i >= frame.events.length ? `end ${cursor.f}` : `before ${cursor.f}`;
  if (shown.key !== key) {
    shown = { key, state: cursor.i >= frame.events.length ? stateAt(cursor.f) : stateBefore(cursor.f) };
  }
  return shown.state;
}

function render() {
  const frame = frames[cursor.f];
  const atEnd = cursor.i >= frame.events.length;
  const state = stateAtCursor();
  const event = atEnd ? null : frame.events[cursor.i];
  const done = new Set(frame.events.slice(0, cursor.i + (atEnd ? 0 : 1))
    .filter((e) => e.kind === "poll").map((e) => e.task));
  const polling = event && event.kind === "poll" ? event.task : null;

  document.getElementById("position").textContent = atEnd
    ? `turn ${frame.turn} of ${frames[frames.length - 1].turn} · its end`
    : `turn ${frame.turn} of ${frames[frames.length - 1].turn} · event ${cursor.i + 1} of ${frame.events.length}`;
  document.getElementById("now").textContent = `now ${ms(atEnd ? frame.ended_us : frame.started_us)}`;
  document.getElementById("scrubber").value = String(cursor.f);
  document.getElementById("state-note").textContent = atEnd
    ? `at the end of turn ${frame.turn}`
    : `as turn ${frame.turn} began; polled so far marked`;

  if (event && event.kind === "poll") {
    // The code this poll resumes: the wait it was woken out of, or where it was spawned.
    const waited = event.waited_in && event.waited_in.match(/ at (.+:\d+:\d+)$/);
    const task = state.tasks.find((t) => t.id === event.task);
    const site = waited ? waited[1] : task && task.spawned_at;
    if (site) showSource(site);
  }
  renderTasks(state, polling, atEnd ? new Set() : done);
  renderReady(state, atEnd ? new Set() : done);
  renderWhy(event);
  renderEvents();
  renderWheel(state);
  renderIo(state);
  const warnings = document.getElementById("warnings");
  warnings.replaceChildren(...(atEnd ? frame.warnings : []).map((w) => el("p", { class: "warning" }, `⚠ ${w}`)));
}

function siteLink(site) {
  if (!site) return "";
  return el("span", { class: "site", tabindex: "0", onclick: () => showSource(site), onkeydown: (e) => {
    if (e.key === "Enter") showSource(site);
  } }, site);
}

function renderTasks(state, polling, done) {
  const body = document.querySelector("#tasks tbody");
  body.replaceChildren(...state.tasks.map((task) => {
    let status = task.state;
    if (task.id === polling) status = "running";
    else if (done.has(task.id) && status === "scheduled") status = "polled";
    const name = names[task.id] ? ` "${names[task.id]}"` : "";
    const at = task.wait_site ? task.waits_on.indexOf(task.wait_site) : -1;
    const waits = at < 0 ? task.waits_on : el("span", {}, task.waits_on.slice(0, at),
      siteLink(task.wait_site), task.waits_on.slice(at + task.wait_site.length));
    const row = el("tr", { class: task.id === polling ? "current" : "" },
      el("td", {}, `${task.id}${name}`),
      el("td", { class: `state-${status}` }, status),
      el("td", {}, String(task.polls)),
      el("td", {}, String(task.wakes)),
      el("td", {}, siteLink(task.spawned_at)),
      el("td", {}, waits));
    return row;
  }));
  if (!state.tasks.length) body.append(el("tr", {}, el("td", { colspan: "6", class: "dim" }, "no tasks")));
}

function renderReady(state, done) {
  const list = document.getElementById("ready");
  list.replaceChildren(...state.ready.map((id) => el("li", { class: done.has(id) ? "done" : "" }, taskName(id))));
  if (!state.ready.length) list.append(el("li", { class: "dim" }, "(empty)"));
}

// The chain of wakes behind the poll at the cursor, back to a spawn, a timer, an I/O
// event or another thread; each step a link to where it happened.
function renderWhy(event) {
  const list = document.getElementById("why");
  list.replaceChildren();
  if (!event || event.kind !== "poll") {
    list.append(el("li", { class: "dim" }, "step to a poll to see why its task ran"));
    return;
  }
  let at = [cursor.f, cursor.i];
  for (let step = 0; step < 12 && at; step += 1) {
    const event = frames[at[0]].events[at[1]];
    const here = at;
    const link = el("a", { tabindex: "0", onclick: () => go(here[0], here[1]), onkeydown: (e) => {
      if (e.key === "Enter") go(here[0], here[1]);
    } }, `turn ${frames[here[0]].turn}: ${event.kind === "poll" ? `${taskName(event.task)} polled` : describe(event)}`);
    if (event.kind !== "poll") {
      list.append(el("li", {}, link));
      return;
    }
    const cause = el("span", {}, ` — woken by ${event.cause || "a wake before the recording began"}`);
    if (event.waited_in) cause.append(`, out of ${event.waited_in}`);
    list.append(el("li", {}, link, cause));
    at = causeOf(at, event);
  }
}

// Where the wake behind the poll at `at` came from: the waking task's poll before it,
// or the timer, I/O or remote event that did it. `null` ends the chain.
function causeOf(at, poll) {
  const before = (place) => place[0] < at[0] || (place[0] === at[0] && place[1] < at[1]);
  const lastPollOf = (task) => {
    const polls = (pollsOf.get(task) || []).filter(before);
    return polls.length ? polls[polls.length - 1] : null;
  };
  switch (poll.cause_kind) {
    case "task":
      return lastPollOf(poll.cause_task);
    case "itself":
    case "budget":
      return lastPollOf(poll.task);
    case "timer":
      return findEvent(at, (e) => e.kind === "timer" && String(e.deadline_us) === String(poll.cause_timer_us));
    case "io":
      return findEvent(at, (e) => e.kind === "io" && e.token === poll.cause_token);
    case "thread":
      return findEvent(at, (e) => e.kind === "remote" && e.task === poll.task);
    default:
      return null;
  }
}

// The last event before `at` (within 64 turns) that `test` accepts, as
// [frame, event]: a timer, I/O or remote event, which ends the chain.
function findEvent(at, test) {
  for (let f = at[0]; f >= 0 && f > at[0] - 64; f -= 1) {
    const events = frames[f].events;
    const last = f === at[0] ? at[1] - 1 : events.length - 1;
    for (let i = last; i >= 0; i -= 1) {
      if (test(events[i])) return [f, i];
    }
  }
  return null;
}

function renderEvents() {
  const list = document.getElementById("events");
  list.replaceChildren();
  const from = Math.max(0, cursor.f - 2);
  const to = Math.min(frames.length - 1, cursor.f + 2);
  let current = null;
  for (let f = from; f <= to; f += 1) {
    const frame = frames[f];
    list.append(el("li", { class: "turn-head" }, `── turn ${frame.turn} · ${ms(frame.started_us)} → ${ms(frame.ended_us)}`));
    frame.events.forEach((event, i) => {
      const here = f === cursor.f && i === cursor.i;
      const item = el("li", {
        class: `${here ? "current" : ""} ${flagged(event) ? "flag" : ""}`,
        tabindex: "0",
        onclick: () => go(f, i),
        onkeydown: (e) => { if (e.key === "Enter") go(f, i); },
      }, describe(event));
      if (here) current = item;
      list.append(item);
    });
    const endHere = f === cursor.f && cursor.i >= frame.events.length;
    const end = el("li", { class: endHere ? "current" : "", tabindex: "0", onclick: () => go(f, frame.events.length) },
      `end of turn ${frame.turn}`);
    if (endHere) current = end;
    list.append(end);
  }
  if (current) current.scrollIntoView({ block: "nearest" });
}

function renderWheel(state) {
  const wheel = document.getElementById("wheel");
  wheel.replaceChildren();
  const now = Number(state.now_us);
  for (let level = 0; level < 6; level += 1) {
    wheel.append(el("span", { class: "level" }, `L${level}`));
    const position = Math.floor(now / 2 ** (6 * level)) % 64;
    for (let slot = 0; slot < 64; slot += 1) {
      const here = state.timers.filter((t) => t.level === level && t.slot === slot);
      const title = here.map((t) => `${ms(t.deadline_us)} → ${t.task === null ? "no waker" : owner(t.task)}`).join("\n");
      wheel.append(el("span", {
        class: `slot${here.length ? " full" : ""}${slot === position ? " now" : ""}`,
        title: `L${level} s${slot}${title ? `\n${title}` : ""}`,
      }));
    }
  }
  const timers = document.getElementById("timers");
  timers.replaceChildren(...state.timers.map((t) => {
    const where = t.level < 6 ? `L${t.level} s${t.slot}` : t.level === 6 ? "overflow list" : "never list";
    const due = typeof t.deadline_us === "string" ? "never" : ms(t.deadline_us);
    return el("li", {}, `${due} · ${where} → ${t.task === null ? "no waker" : owner(t.task)}`);
  }));
  if (!state.timers.length) timers.append(el("li", { class: "dim" }, "no timer pending"));
}

function renderIo(state) {
  const body = document.querySelector("#io tbody");
  body.replaceChildren(...state.io.map((source) => el("tr", {},
    el("td", {}, source.token),
    el("td", {}, source.interest || "?"),
    el("td", {}, [source.readable && "readable", source.writable && "writable"].filter(Boolean).join(", ") || "drained"),
    el("td", {}, source.readers.map(owner).join(", ")),
    el("td", {}, source.writers.map(owner).join(", ")))));
  if (!state.io.length) body.append(el("tr", {}, el("td", { colspan: "5", class: "dim" }, "no source registered")));
  document.getElementById("blocking").textContent = `blocking jobs in flight: ${state.blocking_in_flight}`;
}

function showSource(site) {
  const [file, line] = site.split(":").slice(0, -1).join(":").match(/^(.*):(\d+)$/).slice(1);
  const excerpt = run.sources[`${file}:${line}`];
  document.getElementById("source-site").textContent = site;
  const pre = document.getElementById("source");
  if (!excerpt) {
    pre.textContent = "(this file was not readable when the run was recorded)";
    return;
  }
  pre.replaceChildren(...excerpt.lines.map((text, k) => {
    const number = excerpt.first + k;
    const here = number === Number(line) ? " here" : "";
    return el("span", { class: `line${here}` }, `${String(number).padStart(5)}  ${text}`);
  }));
}

// === moving the cursor ===

function go(f, i) {
  cursor = { f: Math.max(0, Math.min(frames.length - 1, f)), i: Math.max(0, i) };
  cursor.i = Math.min(cursor.i, frames[cursor.f].events.length);
  render();
}

function eventOn() {
  if (cursor.i < frames[cursor.f].events.length) go(cursor.f, cursor.i + 1);
  else if (cursor.f + 1 < frames.length) go(cursor.f + 1, 0);
}

function eventBack() {
  if (cursor.i > 0) go(cursor.f, cursor.i - 1);
  else if (cursor.f > 0) go(cursor.f - 1, frames[cursor.f - 1].events.length);
}

const turnOn = () => go(cursor.f + 1, frames[Math.min(frames.length - 1, cursor.f + 1)].events.length);
const turnBack = () => go(cursor.f - 1, frames[Math.max(0, cursor.f - 1)].events.length);
const toStart = () => go(0, 0);
const toEnd = () => go(frames.length - 1, frames[frames.length - 1].events.length);

function start() {
  document.getElementById("program").textContent = `· ${run.program} · ${frames.length} turns recorded`;
  document.getElementById("clock-kind").textContent = run.paused ? "· paused clock" : "· real clock";
  document.title = `glassbox · ${run.program}`;
  if (run.cut) {
    const cut = document.getElementById("cut");
    cut.hidden = false;
    cut.textContent = `Cut: ${run.cut}.`;
  }
  if (!frames.length) {
    document.getElementById("position").textContent = "no turn was recorded";
    return;
  }
  const scrubber = document.getElementById("scrubber");
  scrubber.max = String(frames.length - 1);
  scrubber.addEventListener("input", () => go(Number(scrubber.value), frames[Number(scrubber.value)].events.length));
  const marks = document.getElementById("turn-marks");
  const step = Math.max(1, Math.ceil(frames.length / 400));
  for (let f = 0; f < frames.length; f += step) {
    const busy = frames[f].events.some((e) => e.kind === "poll");
    marks.append(el("span", { class: busy ? "busy" : "", style: `left:${(100 * f) / Math.max(1, frames.length - 1)}%` }));
  }
  for (const [id, action] of [["to-start", toStart], ["turn-back", turnBack], ["event-back", eventBack],
    ["event-on", eventOn], ["turn-on", turnOn], ["to-end", toEnd]]) {
    document.getElementById(id).addEventListener("click", action);
  }
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement) return;
    const keys = {
      ArrowRight: e.shiftKey ? turnOn : eventOn,
      ArrowLeft: e.shiftKey ? turnBack : eventBack,
      Home: toStart,
      End: toEnd,
    };
    if (keys[e.key]) {
      e.preventDefault();
      keys[e.key]();
    }
  });
  const first = frames[0].events.findIndex((e) => e.kind === "poll");
  go(0, first < 0 ? 0 : first);
  const site = frames.length && stateAt(0).tasks.length ? stateAt(0).tasks[0].spawned_at : null;
  if (site) showSource(site);
}

const query = new URLSearchParams(location.search);
const askedTurn = Number((location.hash.match(/turn=(\d+)/) || [])[1]);
if (query.has("selftest")) selftest();
else if (query.has("dump")) dump(askedTurn);
start();
// `#turn=K`: open at the end of turn K; `#turn=K&event=I`: at its I-th event (a
// link to one moment of the run).
const asked = frames.findIndex((frame) => frame.turn === askedTurn);
const askedEvent = Number((location.hash.match(/event=(\d+)/) || [])[1]);
if (asked >= 0) go(asked, askedEvent > 0 ? askedEvent - 1 : frames[asked].events.length);
