// JsSocket: run a study-notes snippet with the browser's own WebSocket, in the
// notebook page, against a server in the kernel. See jssocket.py for the
// Python side. Everything shown comes from data: textContent, never innerHTML.
//
// DOM contract (checked by the real-browser tests): a root `.wslab-js-socket`
// with `data-ready-state` (0-3, the latest socket's, kept live),
// `data-received` (messages received in this run), `data-error` (only when
// the run failed) and the log lines in `ol.wslab-js-log > li`.

const STATES = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"];

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function preview(data) {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return `<${data.byteLength} bytes>`;
  if (data && typeof data.size === "number") return `<${data.size} bytes>`; // a Blob
  return String(data);
}

// As the kernel's describe() (wslab/core/jssocket.py): at most 80 characters
// (code points, as Python counts them), so both list the same lines.
function shorten(text) {
  const chars = Array.from(text);
  return chars.length <= 80 ? text : `${chars.slice(0, 79).join("")}…`;
}

function describe(event) {
  const who = event.socket ? `socket ${event.socket}: ` : "";
  switch (event.type) {
    case "message":
      return `${who}message ${shorten(event.data)}`;
    case "close": {
      const reason = event.reason ? ` ${JSON.stringify(event.reason)}` : "";
      return `${who}close ${event.code}${reason} (${event.wasClean ? "clean" : "not clean"})`;
    }
    case "open":
    case "error":
      return `${who}${event.type}`;
    case "log":
      return event.text;
    case "unreachable":
      return "gave up: the page could not reach the server (see above)";
    default:
      return `${event.type}: ${event.text}`;
  }
}

function render({ model, el }) {
  const root = element("div", "wslab-js-socket");
  const head = element("div", "wslab-js-head");
  const title = element("strong", "wslab-js-title", `${model.get("label")} (this page's JavaScript)`);
  const state = element("span", "wslab-js-state");
  const rerun = element("button", "wslab-js-run", "Run again");
  const closer = element("button", "wslab-js-close", "Close socket");
  rerun.type = closer.type = "button";
  head.append(title, state, rerun, closer);
  const note = element("div", "wslab-js-note");
  note.hidden = true;
  const details = element("details", "wslab-js-source");
  details.append(element("summary", "", "the JavaScript this cell runs"));
  details.append(element("pre", "wslab-js-code", model.get("snippet")));
  const list = element("ol", "wslab-js-log");
  root.append(head, note, details, list);
  el.append(root);

  // Report to the kernel with custom messages, not model.set + save_changes:
  // ipywidgets holds a trait update back until the kernel says "idle" after
  // the previous one, which never comes while the cell that waits for us runs
  // (see PageReport in wslab/core/jssocket.py). Best effort: once the widget is
  // closed, the kernel side is gone and the page still shows what happened.
  const viewId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  let runs = 0;
  function send(id, patch) {
    try {
      model.send({ type: "wslab-js", view: id, ...patch });
    } catch (_error) {
      /* closed */
    }
  }

  function showState(n) {
    root.dataset.readyState = String(n);
    state.textContent = ` readyState ${n} ${STATES[n]} `;
    state.dataset.state = STATES[n];
  }

  let current = null;

  function newRun() {
    const run = {
      id: `${viewId}:${++runs}`,
      t0: performance.now(),
      events: [],
      sockets: [],
      timers: new Map(), // id -> clear function, for the snippet's timers
      latest: null,
      opened: false,
      settled: false,
      finished: false,
      ignored: false, // a newer run (or a removed view) took over: stop recording
      received: 0,
    };
    const scale = Number(model.get("time_scale")) || 1;
    const sync = (patch) => send(run.id, patch);

    function record(event) {
      if (run.ignored) return;
      const full = { ...event, t: Math.round(performance.now() - run.t0) };
      run.events.push(full);
      list.append(element("li", `wslab-js-event-${event.type}`, describe(full)));
      root.dataset.received = String(run.received);
      sync({ event: full, received: run.received });
    }

    function checkDone() {
      if (run.ignored || run.finished || !run.settled || run.timers.size) return;
      if (run.sockets.some((s) => s.readyState !== WebSocket.CLOSED)) return;
      run.finished = true;
      sync({ done: true });
    }

    function fail(text) {
      if (run.ignored || run.finished) return;
      record({ type: "unreachable", text });
      root.dataset.error = text;
      note.textContent = text;
      note.hidden = false;
      run.finished = true;
      sync({ error: text, done: true });
      stop(1000, "gave up", true); // no retry loop keeps dialling a port it cannot reach
    }

    function stop(code, reason, ignore) {
      for (const clear of run.timers.values()) clear();
      run.timers.clear();
      run.stopping = true;
      if (ignore) run.ignored = true;
      for (const socket of run.sockets) {
        if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN) {
          try {
            socket.close(code, reason);
          } catch (error) {
            socket.close(); // a code a page may not send: close without one
          }
        }
      }
    }
    run.stop = stop;

    // The snippet's WebSocket: the browser's own, with the widget listening
    // first (listeners added in the constructor run before the snippet's).
    class PageWebSocket extends WebSocket {
      constructor(address, protocols) {
        if (run.stopping) throw new Error("this run was stopped: no new connections");
        super(address, protocols);
        const n = run.sockets.push(this);
        run.latest = this;
        showState(this.readyState);
        sync({ ready_state: this.readyState });
        const follow = () => {
          if (run.latest === this && !run.ignored) {
            showState(this.readyState);
            sync({ ready_state: this.readyState });
          }
        };
        this.addEventListener("open", () => {
          run.opened = true;
          clearTimeout(run.unreachable);
          follow();
          record({ type: "open", socket: n });
        });
        this.addEventListener("message", (event) => {
          run.received += 1;
          record({ type: "message", socket: n, data: preview(event.data) });
        });
        this.addEventListener("error", () => record({ type: "error", socket: n }));
        this.addEventListener("close", (event) => {
          follow();
          record({
            type: "close",
            socket: n,
            code: event.code,
            reason: event.reason,
            wasClean: event.wasClean,
          });
          if (!run.opened && event.code === 1006) fail(model.get("explanation"));
          // The snippet's own close listener runs after this one (it may start
          // a reconnect timer): look again once it has.
          setTimeout(checkDone, 0);
        });
      }

      close(code, reason) {
        super.close(code, reason);
        if (run.latest === this && !run.ignored) {
          showState(this.readyState);
          sync({ ready_state: this.readyState });
        }
      }
    }

    function guarded(callback) {
      return (...args) => {
        try {
          if (typeof callback === "function") callback(...args);
        } catch (error) {
          record({ type: "exception", text: `${error.name}: ${error.message}` });
        }
      };
    }

    // Timers the widget can clear when the run stops, in nominal time: the
    // lesson's "1 second" lasts time_scale real seconds, as in the kernel.
    function setTimeoutScaled(callback, ms = 0, ...args) {
      if (run.stopping) return 0;
      const id = setTimeout(() => {
        run.timers.delete(id);
        guarded(callback)(...args);
        checkDone();
      }, ms * scale);
      run.timers.set(id, () => clearTimeout(id));
      return id;
    }
    function setIntervalScaled(callback, ms = 0, ...args) {
      if (run.stopping) return 0;
      const id = setInterval(guarded(callback), ms * scale, ...args);
      run.timers.set(id, () => clearInterval(id));
      return id;
    }
    function clearTimer(id) {
      const clear = run.timers.get(id);
      if (clear) clear();
      run.timers.delete(id);
      setTimeout(checkDone, 0);
    }
    const sleep = (ms) => new Promise((resolve) => setTimeoutScaled(resolve, ms));
    const say = (...parts) =>
      record({
        type: "log",
        text: parts.map((p) => (typeof p === "string" ? p : JSON.stringify(p))).join(" "),
      });
    const pageConsole = {
      ...console,
      log: (...parts) => {
        console.log(...parts);
        say(...parts);
      },
      error: (...parts) => {
        console.error(...parts);
        say(...parts);
      },
    };

    while (list.firstChild) list.firstChild.remove();
    delete root.dataset.error;
    note.hidden = true;
    note.textContent = "";
    root.dataset.received = "0";
    showState(0);
    sync({ reset: true, ready_state: 0 });

    // Nothing opened in time: say why instead of leaving the cell spinning.
    run.unreachable = setTimeout(() => {
      if (!run.opened) fail(model.get("explanation"));
    }, Number(model.get("unreachable_ms")) || 3000);

    const url = model.get("url");
    let snippet;
    try {
      snippet = new Function(
        "url",
        "WebSocket",
        "console",
        "log",
        "sleep",
        "setTimeout",
        "clearTimeout",
        "setInterval",
        "clearInterval",
        `"use strict";\nreturn (async () => {\n${model.get("snippet")}\n})();`,
      );
    } catch (error) {
      record({ type: "exception", text: `${error.name}: ${error.message}` });
      const text = `The snippet is not valid JavaScript: ${error.message}`;
      root.dataset.error = text;
      note.textContent = text;
      note.hidden = false;
      clearTimeout(run.unreachable);
      sync({ error: text, done: true });
      return run;
    }
    snippet(
      url,
      PageWebSocket,
      pageConsole,
      say,
      sleep,
      setTimeoutScaled,
      clearTimer,
      setIntervalScaled,
      clearTimer,
    ).then(
      () => {
        run.settled = true;
        checkDone();
      },
      (error) => {
        run.settled = true;
        record({ type: "exception", text: `${error.name}: ${error.message}` });
        if (error.name === "SecurityError" && !run.opened) {
          // For example an https page may not open ws:// to this computer.
          fail(`${model.get("explanation")} (${error.name}: ${error.message})`);
        } else if (!run.finished) {
          const text = `The snippet threw ${error.name}: ${error.message}`;
          root.dataset.error = text;
          note.textContent = text;
          note.hidden = false;
          clearTimeout(run.unreachable);
          stop(1000, "the snippet failed", false);
          sync({ error: text });
          checkDone();
        }
      },
    );
    return run;
  }

  function start() {
    if (current) {
      clearTimeout(current.unreachable);
      current.stop(1000, "run again", true);
    }
    current = newRun();
  }

  rerun.addEventListener("click", start);
  closer.addEventListener("click", () => {
    if (current) current.stop(1000, "closed from the page", false);
  });
  model.on("msg:custom", (message) => {
    if (message && message.cmd === "run") start();
    if (message && message.cmd === "close" && current) {
      current.stop(message.code ?? 1000, message.reason ?? "", false);
    }
  });

  send(viewId, { rendered: true });
  start();

  // The view is removed (the cell re-run, the output cleared, the widget
  // closed): hang up, and leave no timer behind. (A page may send only 1000
  // or 3000-4999; the browser itself sends 1001 when a whole page goes away.)
  return () => {
    if (current) {
      clearTimeout(current.unreachable);
      current.stop(1000, "the page closed this view", true);
    }
  };
}

export default { render };
