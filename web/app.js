/*
 * app.js - the fieldsync web UI: a small single-page app over /api/.
 *
 * Pages are chosen by the URL's hash (#/pairings, #/tables, #/map?pair=,
 * #/conflicts, #/records?table=, #/record?table=&rowid=).  Every text
 * comes from i18n.js; every element is built with textContent, never
 * innerHTML, so nothing from the database or a peer can inject markup.
 * The CSRF token lives only in this page's memory: it comes with the
 * login answer (or GET /api/session) and goes in X-CSRF-Token on every
 * change.
 */
"use strict";

(function () {
  var lang = (navigator.language || "en").slice(0, 2);
  var TEXTS = window.FS_TEXTS[lang] || window.FS_TEXTS.en;

  function t(key, vars) {
    var s = TEXTS[key] !== undefined ? TEXTS[key] : window.FS_TEXTS.en[key];
    if (s === undefined) return key;
    return s.replace(/\{(\w+)\}/g, function (m, k) {
      return vars && vars[k] !== undefined && vars[k] !== null ? String(vars[k]) : m;
    });
  }

  var state = { csrf: null, instance: null, timers: [] };
  var LOG_SHOWN = 1000;   /* a record's newest changes the API sends (api-data.c) */

  /* --- DOM helpers ------------------------------------------------------ */

  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) return;
        if (k === "text") el.textContent = v;
        else if (k === "cls") el.className = v;
        else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
        else if (k === "value") el.value = v;
        else if (k === "checked") el.checked = !!v;
        else el.setAttribute(k, v === true ? "" : v);
      });
    }
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }

  /* Append each further argument (a node, text, or an array of them). */
  function add(el) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === undefined || c === null || c === false) continue;
      if (Array.isArray(c)) { c.forEach(function (x) { add(el, x); }); continue; }
      el.appendChild(typeof c === "string" || typeof c === "number" ?
        document.createTextNode(String(c)) : c);
    }
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  function main() { return document.getElementById("main"); }

  function setPage(title) {
    var m = main();
    clear(m);
    document.title = title + " · " + t("app_title") +
      (state.instance ? " · " + state.instance.name : "");
    return m;
  }

  function errorBox(msg) {
    return h("p", { cls: "msg bad", role: "alert", text: msg });
  }

  function fmtValue(v) {
    if (v === null || v === undefined) return h("span", { cls: "null", text: t("value_null") });
    if (typeof v === "object" && v.blob !== undefined) {
      var n = v.bytes !== undefined ? v.bytes : v.blob.length / 2;
      return h("span", { cls: "blob", title: "x'" + v.blob + "'", text: t("value_blob", { bytes: n }) });
    }
    return h("span", { cls: "val", text: String(v) });
  }

  function fmtTime(iso) {
    if (!iso) return t("never");
    var d = new Date(iso);
    if (isNaN(d.getTime())) return iso;
    return d.toLocaleString();
  }

  /* The peer's clock minus ours, as the card shows it. */
  function fmtOffset(ms) {
    var a = Math.abs(ms), d, s, m;
    if (a < 1000) return t("clock_in_step");
    if (a < 59950) d = (a / 1000).toFixed(1) + " s";
    else if (a < 3599500) { s = Math.round(a / 1000); d = Math.floor(s / 60) + " min " + s % 60 + " s"; }
    else { m = Math.round(a / 60000); d = Math.floor(m / 60) + " h " + m % 60 + " min"; }
    return t(ms > 0 ? "clock_ahead" : "clock_behind", { d: d });
  }

  function stopTimers() {
    state.timers.forEach(function (x) { clearInterval(x); clearTimeout(x); });
    state.timers = [];
  }

  /* --- the API ---------------------------------------------------------- */

  function ApiError(status, msg, retry) {
    this.status = status;
    this.message = msg;
    this.retry = retry;
  }

  /*
   * Numbers as the server wrote them where a JavaScript number would show
   * another (whole numbers past 2^53, -0.0): an object whose text is the
   * source, so that String() and "+" show the stored value.  Needs the
   * reviver's source text (Chromium 114 and later); without it, as
   * before.
   */
  function exactNumbers(key, v, ctx) {
    if (typeof v !== "number" || !ctx || typeof ctx.source !== "string") return v;
    if (!Object.is(v, -0) && !(/^-?[0-9]+$/.test(ctx.source) && !Number.isSafeInteger(v))) return v;
    var src = ctx.source;
    return { exact: src, toString: function () { return src; } };
  }

  function api(method, path, body) {
    var opts = { method: method, headers: {}, credentials: "same-origin" };
    if (method !== "GET") opts.headers["X-CSRF-Token"] = state.csrf || "";
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch("/api/" + path, opts).then(function (r) {
      return r.text().then(function (txt) {
        var data = null;
        try { data = txt ? JSON.parse(txt, exactNumbers) : null; } catch (e) { data = null; }
        if (r.status === 401 && path !== "login") {
          state.csrf = null;
          showLogin(t("session_expired"));
          throw new ApiError(401, t("session_expired"));
        }
        if (!r.ok) {
          throw new ApiError(r.status, data && data.error ? data.error : r.statusText,
            r.headers.get("Retry-After"));
        }
        return data;
      });
    });
  }

  function q(s) { return encodeURIComponent(s); }

  /* --- login and the frame ---------------------------------------------- */

  function showFrame(on) {
    document.getElementById("nav").hidden = !on;
    document.getElementById("logout").hidden = !on;
    document.getElementById("instance-name").textContent =
      on && state.instance ? state.instance.name : "";
  }

  function showLogin(msg) {
    stopTimers();
    showFrame(false);
    var m = setPage(t("login_title"));
    var pw = h("input", { type: "password", id: "login-password", autocomplete: "current-password", required: true });
    var out = h("div", { cls: "login-msg" });
    if (msg) add(out, h("p", { cls: "msg", text: msg }));
    var form = h("form", { cls: "card login", onsubmit: function (ev) {
      ev.preventDefault();
      clear(out);
      api("POST", "login", { password: pw.value }).then(function (s) {
        pw.value = "";
        state.csrf = s.csrf;
        state.instance = s.instance;
        showFrame(true);
        if (!location.hash || location.hash === "#/login") location.hash = "#/pairings";
        else route();
      }, function (e) {
        var text = e.status === 429 ? t("login_throttled", { s: e.retry || "?" }) :
          e.status === 401 ? t("login_wrong") :
          e.status === 409 ? t("login_not_set") : t("error_prefix", { msg: e.message });
        add(out, errorBox(text));
      });
    } },
      h("h1", { text: t("login_title") }),
      h("p", { cls: "muted", text: t("login_intro") }),
      h("label", { "for": "login-password", text: t("login_password") }),
      pw,
      h("button", { type: "submit", cls: "primary", id: "login-button", text: t("login_button") }),
      out);
    add(m, form);
    pw.focus();
  }

  function logout() {
    api("POST", "logout").then(function () {
      state.csrf = null;
      showLogin();
    }, function () { showLogin(); });
  }

  /* --- pairings ------------------------------------------------------------- */

  function light(status) {
    var green = status && status.state === "green";
    return h("span", { cls: "light " + (green ? "green" : "red"),
      title: green ? t("state_green") : t("state_red"),
      "aria-label": green ? t("state_green") : t("state_red") });
  }

  function dl(pairs) {
    var d = h("dl", { cls: "facts" });
    pairs.forEach(function (p) {
      if (!p) return;
      add(d, h("div", null, h("dt", { text: p[0] }), h("dd", null, p[1])));
    });
    return d;
  }

  function pairingsPage() {
    var m = setPage(t("pairings_title"));
    var list = h("div", { cls: "cards", id: "pairing-list" });
    var formBox = h("div", { id: "pairing-form-box" });
    add(m, h("div", { cls: "page-head" },
      h("h1", { text: t("pairings_title") }),
      h("button", { cls: "primary", id: "add-pairing", text: t("pairing_add"),
        onclick: function () { pairingForm(formBox, null, load); } })));
    add(m, h("p", { cls: "muted", text: t("pairings_intro") }));
    add(m, formBox, list);
    var cards = {};

    function load() {
      return api("GET", "pairings").then(function (ps) {
        var seen = {};
        if (ps.length === 0) {
          clear(list);
          cards = {};
          add(list, h("p", { cls: "empty", text: t("pairings_none") }));
          return;
        }
        var empty = list.querySelector(".empty");
        if (empty) list.removeChild(empty);
        ps.forEach(function (p) {
          seen[p.name] = true;
          var c = cards[p.name];
          if (!c) {
            c = cards[p.name] = { el: h("article", { cls: "card pairing", "data-pair": p.name }),
              body: h("div"), test: h("div", { cls: "test-result" }),
              sync: h("div", { cls: "sync-progress" }) };
            add(c.el, c.body, c.test, c.sync);
            add(list, c.el);
          }
          renderPairing(c, p, formBox, load);
        });
        Object.keys(cards).forEach(function (n) {
          if (!seen[n]) { list.removeChild(cards[n].el); delete cards[n]; }
        });
      }).catch(function (e) {
        if (e.status !== 401) { clear(list); add(list, errorBox(e.message)); }
      });
    }
    load();
    state.timers.push(setInterval(load, 5000));
  }

  function renderPairing(c, p, formBox, reload) {
    var s = p.status || {};
    clear(c.body);
    var active = p.role === "active";
    add(c.body, h("header", { cls: "pairing-head" },
      light(s),
      h("h2", { text: p.name }),
      h("span", { cls: "badge", text: t(active ? "role_active" : "role_passive") }),
      p.enabled ? null : h("span", { cls: "badge off", text: t("disabled") })));
    add(c.body, h("p", { cls: "reason " + (s.state === "green" ? "good" : "bad"),
      text: s.state === "green" ? t("state_green") : (s.reason || t("state_red")) }));
    add(c.body, dl([
      active ? [t("label_peer_url"), p.url || ""] : null,
      s.peer_name ? [t("label_peer"), s.peer_name] : null,
      active ? [t("label_interval"), t("seconds", { n: p.interval })] : null,
      [t("label_policy"), active ? t("policy_" + p.policy) : t("policy_of_active")],
      [t("label_last_sync"), fmtTime(s.last_ok)],
      [t("label_pending_out"), String(s.pending_out !== undefined ? s.pending_out : "?")],
      [t("label_pending_in"), s.pending_in === null || s.pending_in === undefined ? t("unknown") : String(s.pending_in)],
      [t("label_conflicts"), s.conflicts ? h("a", { href: "#/conflicts", text: String(s.conflicts) }) : "0"],
      typeof s.clock_offset_ms === "number" ? [t("label_clock"), fmtOffset(s.clock_offset_ms)] : null
    ]));
    if (s.clock_warning) add(c.body, h("p", { cls: "warn-text clock-warning", text: s.clock_warning }));
    var actions = h("div", { cls: "actions" });
    if (active) {
      add(actions, h("button", { cls: "primary sync-now", text: t("pairing_sync"),
        onclick: function () { startJob(c, p.name, "sync", reload); } }));
      add(actions, h("button", { cls: "test-conn", text: t("pairing_test"),
        onclick: function () { startJob(c, p.name, "test", reload); } }));
    }
    add(actions, h("a", { cls: "button", href: "#/map?pair=" + q(p.name), text: t("pairing_map") }));
    add(actions, h("button", { text: t("pairing_edit"),
      onclick: function () { pairingForm(formBox, p, reload); } }));
    add(actions, h("button", { cls: "danger", text: t("remove"), onclick: function () {
      if (!confirm(t("confirm_remove_pairing", { name: p.name }))) return;
      api("DELETE", "pairings/" + q(p.name)).then(reload, function (e) {
        add(c.test, errorBox(e.message));
      });
    } }));
    add(c.body, actions);
  }

  /* Post a sync or test job, then poll it until done. */
  function startJob(c, name, kind, reload) {
    var box = kind === "sync" ? c.sync : c.test;
    clear(box);
    var line = h("p", { cls: "msg", text: kind === "sync" ? t("sync_queued") : t("test_running") });
    add(box, line);
    if (kind === "sync") add(box, h("progress", { cls: "busy" }));
    api("POST", "pairings/" + q(name) + "/" + kind).then(function () {
      poll();
    }, function (e) {
      clear(box);
      add(box, errorBox(e.message));
    });

    function poll() {
      api("GET", "pairings/" + q(name) + "/" + kind).then(function (j) {
        if (j.state !== "done") {
          if (kind === "sync") {
            line.textContent = j.state === "queued" ? (j.note || t("sync_queued")) :
              t("sync_running", { rounds: j.rounds, sv: j.sent_values, sr: j.sent_records,
                rv: j.recv_values, rr: j.recv_records });
          }
          setTimeout(poll, 250);
          return;
        }
        clear(box);
        if (kind === "sync") {
          if (j.ok) add(box, h("p", { cls: "msg good sync-done", text: t("sync_done", {
            sv: j.sent_values, sr: j.sent_records, rv: j.recv_values, rr: j.recv_records,
            c: j.conflicts }) }));
          else add(box, h("p", { cls: "msg bad sync-failed", text: t("sync_failed",
            { kind: j.error_kind, msg: j.error }) }));
        } else {
          var r = j.report || {};
          if (j.ok) {
            add(box, h("p", { cls: "msg good test-ok" },
              h("span", { cls: "check", "aria-hidden": "true", text: "✓" }), " ",
              t("test_ok", { name: r.name, peer: r.peer, protocol: r.protocol,
                flows: r.flows, offset: r.clock_offset_ms })));
          } else {
            add(box, h("p", { cls: "msg bad test-failed" },
              h("span", { cls: "cross", "aria-hidden": "true", text: "✗" }), " ",
              t("test_failed", { problem: r.problem || j.error || "?" })));
          }
          if (r.warnings && r.warnings.length) {
            add(box, h("ul", { cls: "warnings" }, r.warnings.map(function (w) {
              return h("li", { text: w });
            })));
          }
        }
        reload();
      }, function (e) {
        clear(box);
        add(box, errorBox(e.message));
      });
    }
  }

  function field(label, input, hint) {
    var id = input.id || ("f" + Math.random().toString(36).slice(2));
    input.id = id;
    return h("div", { cls: "field" }, h("label", { "for": id, text: label }), input,
      hint ? h("small", { cls: "muted", text: hint }) : null);
  }

  function select(id, options, value) {
    var s = h("select", { id: id });
    options.forEach(function (o) {
      add(s, h("option", { value: o[0], text: o[1], selected: o[0] === value ? "selected" : null }));
    });
    s.value = value;
    return s;
  }

  function pairingForm(box, p, reload) {
    clear(box);
    var editing = !!p;
    var name = h("input", { id: "pf-name", value: editing ? p.name : "", maxlength: "64", required: !editing, disabled: editing });
    var roleA = h("input", { type: "radio", name: "pf-role", id: "pf-role-active", value: "active", checked: !editing || p.role === "active", disabled: editing });
    var roleP = h("input", { type: "radio", name: "pf-role", id: "pf-role-passive", value: "passive", checked: editing && p.role === "passive", disabled: editing });
    var url = h("input", { id: "pf-url", type: "url", value: editing && p.url ? p.url : "", placeholder: "http://127.0.0.1:8080/" });
    var pw = h("input", { id: "pf-password", type: "password", autocomplete: "new-password" });
    var interval = h("input", { id: "pf-interval", type: "number", min: "1", max: "604800", value: editing ? p.interval : 60 });
    var policy = select("pf-policy", [["newest", t("policy_newest")], ["active", t("policy_active")], ["passive", t("policy_passive")]], editing ? p.policy : "newest");
    var deletes = select("pf-deletes", [["soft", t("deletes_soft")], ["hard", t("deletes_hard")]], editing ? p.deletes : "soft");
    var enabled = h("input", { type: "checkbox", id: "pf-enabled", checked: !editing || p.enabled });
    var out = h("div");
    var activeOnly = h("div", null,
      field(t("form_url"), url, t("form_url_hint")),
      field(t("form_interval"), interval));
    function roleChanged() { activeOnly.hidden = !roleA.checked; }
    roleA.addEventListener("change", roleChanged);
    roleP.addEventListener("change", roleChanged);
    roleChanged();
    var form = h("form", { cls: "card form", id: "pairing-form", onsubmit: function (ev) {
      ev.preventDefault();
      clear(out);
      var body = { policy: policy.value, deletes: deletes.value, enabled: enabled.checked };
      if (pw.value) body.password = pw.value;
      var active = editing ? p.role === "active" : roleA.checked;
      if (active) {
        body.url = url.value;
        body.interval = parseInt(interval.value, 10);
        if (isNaN(body.interval)) body.interval = 60;
      }
      var call;
      if (editing) call = api("PATCH", "pairings/" + q(p.name), body);
      else {
        body.name = name.value;
        body.role = active ? "active" : "passive";
        call = api("POST", "pairings", body);
      }
      call.then(function () {
        pw.value = "";
        clear(box);
        reload();
      }, function (e) { add(out, errorBox(e.message)); });
    } },
      h("h2", { text: editing ? t("form_edit_title", { name: p.name }) : t("form_add_title") }),
      field(t("form_name"), name, t("form_name_hint")),
      h("fieldset", null, h("legend", { text: t("form_role") }),
        h("label", { cls: "radio" }, roleA, " ", t("form_role_active")),
        h("label", { cls: "radio" }, roleP, " ", t("form_role_passive"))),
      activeOnly,
      field(t("form_password"), pw, editing ? t("form_password_keep") : null),
      field(t("form_policy"), policy, t("form_policy_hint")),
      field(t("form_deletes"), deletes),
      h("label", { cls: "check-line" }, enabled, " ", t("form_enabled")),
      h("div", { cls: "actions" },
        h("button", { type: "submit", cls: "primary", id: "pf-save", text: t("save") }),
        h("button", { type: "button", text: t("cancel"), onclick: function () { clear(box); } })),
      out);
    if (!editing) pw.required = true;
    add(box, form);
    (editing ? pw : name).focus();
  }

  /* --- enrolled tables ------------------------------------------------------- */

  function tablesPage() {
    var m = setPage(t("tables_title"));
    add(m, h("div", { cls: "page-head" }, h("h1", { text: t("tables_title") })));
    add(m, h("p", { cls: "muted", text: t("tables_intro") }));
    var listBox = h("div", { id: "table-list" });
    var enrolBox = h("div", { id: "enrol-box" });
    add(m, listBox, enrolBox);

    function load() {
      Promise.all([api("GET", "tables"), api("GET", "app-tables")]).then(function (r) {
        var tables = r[0], app = r[1];
        clear(listBox);
        if (tables.length === 0) add(listBox, h("p", { cls: "empty", text: t("tables_none") }));
        else {
          var tb = h("tbody");
          tables.forEach(function (tab) {
            add(tb, h("tr", { "data-table": tab.table },
              h("td", { "data-label": t("col_table") }, h("strong", { text: tab.table })),
              h("td", { "data-label": t("col_records"), text: String(tab.records) }),
              h("td", { "data-label": t("col_status_column"), text: tab.status_column }),
              h("td", { "data-label": t("col_added_column"), text: tab.added_column }),
              h("td", { "data-label": t("col_match"), text: tab.match && tab.match.length ? tab.match.join(", ") : t("none") }),
              h("td", { "data-label": t("col_fields") }, String(tab.fields.length), uncapturedNote(tab, load)),
              h("td", { cls: "actions" },
                h("a", { cls: "button", href: "#/records?table=" + q(tab.table), text: t("browse_records") }),
                h("button", { cls: "danger", text: t("remove"), onclick: function () {
                  if (!confirm(t("confirm_remove_table", { name: tab.table }))) return;
                  api("DELETE", "tables?table=" + q(tab.table)).then(load, function (e) {
                    add(listBox, errorBox(e.message));
                  });
                } }))));
          });
          add(listBox, h("div", { cls: "scroll" }, h("table", { cls: "grid stack" },
            h("thead", null, h("tr", null,
              [t("col_table"), t("col_records"), t("col_status_column"), t("col_added_column"),
                t("col_match"), t("col_fields"), ""].map(function (x) { return h("th", { text: x }); }))),
            tb)));
        }
        enrolForm(enrolBox, app, load);
      }).catch(function (e) {
        if (e.status !== 401) { clear(listBox); add(listBox, errorBox(e.message)); }
      });
    }
    load();
  }

  /*
   * Columns the app added since enrolling, or capture lost with a table the
   * app rebuilt: say so, and offer to enrol the table again (the CLI's
   * "table add"), which numbers the columns and puts the triggers back.
   */
  function uncapturedNote(tab, reload) {
    var cols = tab.uncaptured && tab.uncaptured.length > 0;
    if (!cols && !tab.capture_lost) return null;
    var out = h("div", { cls: "uncaptured" });
    if (tab.capture_lost) add(out, h("p", { cls: "warn-text capture-lost", text: t("tables_capture_lost") }));
    if (cols) add(out, h("p", { cls: "warn-text", text: t("tables_uncaptured", { cols: tab.uncaptured.join(", ") }) }));
    add(out, h("button", { cls: "capture-new", text: t(tab.capture_lost ? "tables_capture_again" : "tables_capture_new"),
      onclick: function () {
        api("POST", "tables", { table: tab.table }).then(reload, function (e) { add(out, errorBox(e.message)); });
      } }));
    return out;
  }

  function enrolForm(box, app, reload) {
    clear(box);
    var free = app.filter(function (a) { return !a.enrolled; });
    var form = h("form", { cls: "card form", id: "enrol-form" });
    add(box, form);
    add(form, h("h2", { text: t("enrol_title") }));
    if (free.length === 0) {
      add(form, h("p", { cls: "muted", text: t("enrol_none_left") }));
      return;
    }
    var tableSel = select("enrol-table", free.map(function (a) { return [a.table, a.table]; }), free[0].table);
    var cols = h("div");
    var out = h("div");
    add(form, field(t("enrol_table"), tableSel), cols);
    var statusSel, addedSel, matchBoxes;

    function columnsFor(name) {
      clear(cols);
      var a = free.filter(function (x) { return x.table === name; })[0];
      var names = a.columns.filter(function (c) { return !c.pk; }).map(function (c) { return c.name; });
      function opts(def) {
        var o = [["", t("enrol_default_col", { name: def })]];
        names.forEach(function (n) { if (n !== def) o.push([n, n]); });
        return o;
      }
      statusSel = select("enrol-status", opts("fs_status"), "");
      addedSel = select("enrol-added", opts("fs_added"), "");
      matchBoxes = names.map(function (n) {
        return h("input", { type: "checkbox", value: n, cls: "match-col", id: "match-" + n.replace(/[^A-Za-z0-9_-]/g, "_") });
      });
      add(cols, field(t("enrol_status"), statusSel), field(t("enrol_added"), addedSel),
        h("fieldset", null, h("legend", { text: t("enrol_match") }),
          matchBoxes.map(function (b) { return h("label", { cls: "check-line" }, b, " ", b.value); })));
    }
    tableSel.addEventListener("change", function () { columnsFor(tableSel.value); });
    columnsFor(tableSel.value);
    add(form, h("div", { cls: "actions" },
      h("button", { type: "submit", cls: "primary", id: "enrol-button", text: t("enrol_button") })), out);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clear(out);
      var body = { table: tableSel.value,
        match: matchBoxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; }) };
      if (statusSel.value) body.status_column = statusSel.value;
      if (addedSel.value) body.added_column = addedSel.value;
      api("POST", "tables", body).then(reload, function (e) { add(out, errorBox(e.message)); });
    });
  }

  /* --- field map ------------------------------------------------------------- */

  var MODES = ["two-way", "upload", "download", "off"];

  function modeLabel(m) { return t("mode_" + m.replace("-", "_")); }

  function mapPage(params) {
    var pair = params.get("pair") || "";
    var m = setPage(t("map_title", { name: pair }));
    add(m, h("div", { cls: "page-head" },
      h("h1", { text: t("map_title", { name: pair }) }),
      h("a", { cls: "button", href: "#/pairings", text: t("back") })));
    var box = h("div", { id: "map-box" });
    add(m, box);

    function load() {
      return api("GET", "pairings/" + q(pair) + "/map").then(function (d) { renderMap(box, pair, d, load); })
        .catch(function (e) { if (e.status !== 401) { clear(box); add(box, errorBox(e.message)); } });
    }
    load();
  }

  function renderMap(box, pair, d, reload) {
    clear(box);
    var passive = d.map.role === "passive";
    var out = h("div", { id: "map-msg" });
    add(box, h("p", { cls: "muted", text: passive ? t("map_intro_passive") : t("map_intro_active") }));
    var warnings = d.map.warnings.concat(d.peer.warnings);
    if (warnings.length) {
      add(box, h("div", { cls: "card warn", id: "map-warnings" }, h("h2", { text: t("map_warnings") }),
        h("ul", { cls: "warnings" }, warnings.map(function (w) { return h("li", { text: w }); }))));
    }
    add(box, out);
    function fail(e) { clear(out); add(out, errorBox(e.message)); }
    function change(method, path, body) {
      return api(method, "pairings/" + q(pair) + "/map" + (path || ""), body).then(reload, fail);
    }

    if (passive && d.peer.known) {
      var sg = h("div", { cls: "card", id: "suggestions" }, h("h2", { text: t("map_suggestions") }));
      if (d.peer.suggestions.length === 0) add(sg, h("p", { cls: "muted", text: t("map_no_suggestions") }));
      else {
        var ul = h("ul", { cls: "suggestions" });
        d.peer.suggestions.forEach(function (s) {
          add(ul, h("li", { "data-remote": s.remote_field },
            h("span", { text: t("map_suggestion", { rt: s.remote_table, rc: s.remote_column, rf: s.remote_field,
              rtype: s.remote_type || "—", rmode: s.remote_mode, t: s.table, c: s.column, type: s.type || "—",
              mode: s.mode }) }),
            s.type_match ? null : h("span", { cls: "badge warn-badge", text: t("map_type_differs") }),
            h("button", { cls: "accept", text: t("map_accept"), onclick: function () {
              change("POST", "", { column: s.table + "." + s.column, mode: s.mode, remote_field: s.remote_field });
            } })));
        });
        add(sg, ul);
        add(sg, h("button", { cls: "primary", id: "accept-all", text: t("map_accept_all"), onclick: function () {
          var chain = Promise.resolve();
          d.peer.suggestions.forEach(function (s) {
            chain = chain.then(function () {
              return api("POST", "pairings/" + q(pair) + "/map",
                { column: s.table + "." + s.column, mode: s.mode, remote_field: s.remote_field });
            });
          });
          chain.then(reload, fail);
        } }));
      }
      add(box, sg);
    }

    var cols = h("div", { cls: "map-cols" });
    var left = h("div", { cls: "map-local" });
    add(cols, left);
    add(box, cols);
    if (d.tables.length === 0) add(left, h("p", { cls: "empty", text: t("map_no_tables") }));
    var byFid = {};
    d.map.fields.forEach(function (f) { byFid[f.field] = f; });
    /* What the peer says about each of our fields (active side). */
    var peerOf = {};
    if (!passive) d.peer.peer.forEach(function (pf) {
      if (pf.remote_field !== null && pf.remote_field !== undefined) {
        (peerOf[pf.remote_field] = peerOf[pf.remote_field] || []).push(pf);
      }
    });
    var remoteOpts = [["", t("map_remote_none")]];
    if (passive) d.peer.peer.forEach(function (pf) {
      if (pf.role === "rowid") return;
      remoteOpts.push([String(pf.field), t("map_remote_option", { f: pf.field, t: pf.table, c: pf.column, type: pf.type || "—" })]);
    });

    d.tables.forEach(function (tab) {
      var tb = h("tbody");
      tab.fields.forEach(function (f) {
        if (f.role === "rowid") return;
        var mf = byFid[f.field];
        var colName = tab.table + "." + f.column;
        var modeSel = select("mode-" + f.field, [["", t("mode_unmapped")]].concat(MODES.map(function (x) {
          return [x, modeLabel(x)];
        })), mf ? mf.mode : "");
        modeSel.setAttribute("data-column", colName);
        modeSel.className = "mode-select";
        modeSel.addEventListener("change", function () {
          var v = modeSel.value;
          if (!mf && v) change("POST", "", passive && remoteSel && remoteSel.value ?
            { column: colName, mode: v, remote_field: parseInt(remoteSel.value, 10) } : { column: colName, mode: v });
          else if (mf && !v) change("DELETE", "?column=" + q(colName));
          else if (mf) change("PATCH", "", { column: colName, mode: v });
        });
        var remoteSel = null, peerCell = null;
        if (passive) {
          remoteSel = select("remote-" + f.field, remoteOpts,
            mf && mf.remote_field !== null ? String(mf.remote_field) : "");
          remoteSel.className = "remote-select";
          if (mf && mf.remote_field !== null && !remoteOpts.some(function (o) { return o[0] === String(mf.remote_field); })) {
            add(remoteSel, h("option", { value: String(mf.remote_field), text: String(mf.remote_field) }));
            remoteSel.value = String(mf.remote_field);
          }
          remoteSel.disabled = !d.peer.known && !mf;
          remoteSel.addEventListener("change", function () {
            var rv = remoteSel.value;
            var body = { column: colName, mode: mf ? mf.mode : (modeSel.value || "two-way") };
            if (rv) body.remote_field = parseInt(rv, 10);
            /* Relinking is remove, then add with the new number. */
            var first = mf ? api("DELETE", "pairings/" + q(pair) + "/map?column=" + q(colName)) : Promise.resolve();
            first.then(function () { return rv || mf ? change("POST", "", body) : reload(); }, fail);
          });
        } else {
          var ps = peerOf[f.field] || [];
          peerCell = ps.length ? ps.map(function (pf) {
            return h("div", { text: t("map_peer_has", { t: pf.table, c: pf.column, mode: pf.mode }) });
          }) : (d.peer.known && mf ? h("span", { cls: "muted", text: t("map_peer_missing") }) : "—");
        }
        add(tb, h("tr", { cls: mf ? "mapped" : "unmapped", "data-column": colName },
          h("td", { "data-label": t("map_col_column") }, h("strong", { text: f.column }),
            f.role !== "data" ? h("span", { cls: "badge", text: f.role }) : null),
          h("td", { "data-label": t("map_col_type"), text: f.type || "—" }),
          h("td", { "data-label": t("map_col_field"), cls: "num", text: String(f.field) }),
          h("td", { "data-label": t("map_col_mode") }, modeSel),
          passive ? h("td", { "data-label": t("map_col_remote") }, remoteSel) :
            h("td", { "data-label": t("map_col_peer") }, peerCell)));
      });
      add(left, h("section", { cls: "card" }, h("h2", { text: tab.table }),
        h("div", { cls: "scroll" }, h("table", { cls: "grid stack map-table", "data-table": tab.table },
          h("thead", null, h("tr", null, [t("map_col_column"), t("map_col_type"), t("map_col_field"),
            t("map_col_mode"), passive ? t("map_col_remote") : t("map_col_peer")].map(function (x) {
            return h("th", { text: x });
          }))), tb))));
    });

    /* The peer's published list beside ours. */
    var right = h("aside", { cls: "card map-peer", id: "peer-catalog" },
      h("h2", { text: passive ? t("map_peer_title") : t("map_peer_title_active") }));
    add(cols, right);
    if (!d.peer.known) {
      add(right, h("p", { cls: "muted", text: passive ? t("map_peer_unknown_passive") : t("map_peer_unknown_active") }));
      return;
    }
    var tb = h("tbody");
    d.peer.peer.forEach(function (pf) {
      if (pf.role === "rowid") return;
      var mapped = pf.mapped && pf.mapped.length ? t("map_mapped_to", { cols: pf.mapped.map(function (x) {
        return x.table + "." + x.column; }).join(", ") }) : t("map_not_mapped");
      add(tb, h("tr", { cls: pf.mapped && pf.mapped.length ? "mapped" : "unmapped" },
        h("td", { "data-label": t("map_col_field"), cls: "num", text: String(pf.field) }),
        h("td", { "data-label": t("map_col_column") }, h("strong", { text: pf.table + "." + pf.column })),
        h("td", { "data-label": t("map_col_type"), text: pf.type || "—" }),
        h("td", { "data-label": t("map_col_mode"), text: pf.mode }),
        h("td", { "data-label": "", cls: "muted linked", text: mapped })));
    });
    add(right, h("div", { cls: "scroll" }, h("table", { cls: "grid stack" },
      h("thead", null, h("tr", null, [t("map_col_field"), t("map_col_column"), t("map_col_type"),
        t("map_col_mode"), ""].map(function (x) { return h("th", { text: x }); }))), tb)));
  }

  /* --- conflicts ----------------------------------------------------------- */

  function conflictsPage(params) {
    var all = params.get("all") === "1";
    var m = setPage(t("conflicts_title"));
    add(m, h("div", { cls: "page-head" }, h("h1", { text: t("conflicts_title") })));
    add(m, h("p", { cls: "muted", text: t("conflicts_intro") }));
    var toggle = h("input", { type: "checkbox", id: "show-all", checked: all, onchange: function () {
      location.hash = toggle.checked ? "#/conflicts?all=1" : "#/conflicts";
    } });
    add(m, h("label", { cls: "check-line" }, toggle, " ", t("conflicts_show_all")));
    var tools = h("div", { cls: "actions", id: "conflict-tools" });
    var notice = null;    /* said once the list is drawn again */
    var box = h("div", { cls: "cards", id: "conflict-list" });
    var more = h("div", { id: "conflict-more" });
    add(m, tools, box, more);
    var PAGE = 100, names = {};

    /* One page of conflicts from offset, appended; a button for the next. */
    function page(offset) {
      api("GET", "conflicts?limit=" + PAGE + "&offset=" + offset + (all ? "&all=1" : "")).then(function (list) {
        clear(more);
        if (offset === 0 && list.length === 0) add(box, h("p", { cls: "empty", text: t("conflicts_none") }));
        list.forEach(function (c) {
          add(box, conflictCard(c, names, function (r) {
            if (r && r.superseded) notice = t("conflicts_superseded", { n: 1 });
            load();
          }));
        });
        if (list.length === PAGE) {
          add(more, h("button", { id: "conflicts-next", text: t("conflicts_more"),
            onclick: function () { page(offset + PAGE); } }));
        }
        if (offset === 0 && list.length > 0 && !all) acceptAll();
      }).catch(function (e) { if (e.status !== 401) add(box, errorBox(e.message)); });
    }

    /* Accept every decision as it stands: after a storm nobody clicks 10,000 times. */
    function acceptAll() {
      add(tools, h("button", { id: "accept-all", text: t("conflicts_accept_all"), onclick: function () {
        if (!confirm(t("confirm_accept_all"))) return;
        api("POST", "conflicts/resolve", { keep: "winner" }).then(function (r) {
          load();
          if (r.superseded > 0) add(tools, h("p", { cls: "msg", text: t("conflicts_superseded", { n: r.superseded }) }));
          if (r.skipped > 0) add(tools, h("p", { cls: "msg bad", text: t("conflicts_skipped", { n: r.skipped }) }));
        }, function (e) { add(tools, errorBox(e.message)); });
      } }));
    }

    function load() {
      api("GET", "pairings").then(function (ps) {
        /* Instance identities as people know them. */
        names = {};
        if (state.instance) names[state.instance.instance] = state.instance.name;
        ps.forEach(function (p) {
          if (p.status && p.status.peer_instance) names[p.status.peer_instance] = p.status.peer_name;
        });
        clear(tools);
        clear(box);
        if (notice) { add(tools, h("p", { cls: "msg", id: "conflict-notice", text: notice })); notice = null; }
        page(0);
      }).catch(function (e) { if (e.status !== 401) { clear(box); add(box, errorBox(e.message)); } });
    }
    load();
  }

  function conflictCard(c, names, reload) {
    var out = h("div");
    var rec = c.rowid !== null ?
      h("a", { href: "#/record?table=" + q(c.table) + "&rowid=" + c.rowid,
        text: t("conflict_record", { table: c.table, rowid: c.rowid }) }) :
      h("span", { text: t("conflict_deleted_record", { table: c.table }) });
    function side(which, label, value, time, origin) {
      var won = c.winner === which;
      return h("div", { cls: "side " + (won ? "won" : "lost") },
        h("div", { cls: "side-head" }, h("strong", { text: label }),
          won ? h("span", { cls: "badge win", text: t("conflict_winner") }) : null),
        h("div", { cls: "side-value" }, fmtValue(value)),
        h("small", { cls: "muted", text: t("conflict_written", { time: fmtTime(time),
          origin: names[origin] || origin || "?" }) }));
    }
    var card = h("article", { cls: "card conflict", "data-conflict": c.id },
      h("header", null, h("h2", null, rec), h("span", { cls: "muted",
        text: t("conflict_field") + ": " + (c.column || c.field) })),
      h("div", { cls: "sides" },
        side("local", t("conflict_local"), c.local, c.local_time, c.local_origin),
        side("remote", t("conflict_remote"), c.remote, c.remote_time, c.remote_origin)),
      h("p", { cls: "muted", text: t("conflict_policy", { pair: c.pair || "?", policy: c.policy, at: fmtTime(c.at) }) }));
    if (c.resolved_at) {
      add(card, h("p", { cls: "msg good", text: t("conflict_resolved", { at: fmtTime(c.resolved_at), how: c.resolution }) }));
    } else {
      var other = c.winner === "local" ? "remote" : "local";
      function keep(which) {
        api("POST", "conflicts/" + c.id + "/resolve", { keep: which }).then(function (r) { reload(r); },
          function (e) { add(out, errorBox(e.message)); });
      }
      add(card, h("div", { cls: "actions" },
        h("button", { cls: (other === "local" ? "primary " : "") + "keep-local", text: t("conflict_keep_local"),
          onclick: function () { keep("local"); } }),
        h("button", { cls: (other === "remote" ? "primary " : "") + "keep-remote", text: t("conflict_keep_remote"),
          onclick: function () { keep("remote"); } })));
    }
    add(card, out);
    return card;
  }

  /* --- records ------------------------------------------------------------- */

  function recordsPage(params) {
    var m = setPage(t("records_title"));
    add(m, h("div", { cls: "page-head" }, h("h1", { text: t("records_title") })));
    var box = h("div", { id: "records-box" });
    add(m, box);
    api("GET", "tables").then(function (tables) {
      if (tables.length === 0) { add(box, h("p", { cls: "empty", text: t("records_no_tables") })); return; }
      var table = params.get("table") || tables[0].table;
      var search = params.get("q") || "";
      var offset = parseInt(params.get("offset") || "0", 10) || 0;
      var limit = 50;
      var tsel = select("records-table", tables.map(function (x) { return [x.table, x.table]; }), table);
      var qin = h("input", { type: "search", id: "records-search", value: search, maxlength: "200" });
      function go(off) {
        location.hash = "#/records?table=" + q(tsel.value) + (qin.value ? "&q=" + q(qin.value) : "") +
          (off ? "&offset=" + off : "");
      }
      tsel.addEventListener("change", function () { qin.value = ""; go(0); });
      add(box, h("form", { cls: "toolbar", onsubmit: function (ev) { ev.preventDefault(); go(0); } },
        field(t("records_table"), tsel), field(t("records_search"), qin),
        h("button", { type: "submit", text: t("records_search_button") })));
      var list = h("div", { id: "records-list" });
      add(box, list);
      api("GET", "records?table=" + q(table) + "&offset=" + offset + "&limit=" + limit +
        (search ? "&q=" + q(search) : "")).then(function (r) {
        if (r.rows.length === 0) { add(list, h("p", { cls: "empty", text: t("records_none") })); return; }
        var tb = h("tbody");
        r.rows.forEach(function (row) {
          var href = "#/record?table=" + q(r.table) + "&rowid=" + row.rowid;
          var tr = h("tr", { cls: "rec" + (row.deleted ? " deleted" : ""), "data-rowid": row.rowid,
            onclick: function () { location.hash = href; } });
          r.columns.forEach(function (c, i) {
            add(tr, h("td", { "data-label": c.name }, i === 0 ?
              h("a", { href: href }, fmtValue(row.values[i])) : fmtValue(row.values[i])));
          });
          add(tb, tr);
        });
        add(list, h("div", { cls: "scroll" }, h("table", { cls: "grid records" },
          h("thead", null, h("tr", null, r.columns.map(function (c) { return h("th", { text: c.name }); }))), tb)));
        var to = r.offset + r.rows.length;
        add(list, h("div", { cls: "pager" },
          h("button", { id: "prev-page", disabled: r.offset === 0, text: t("records_prev"),
            onclick: function () { go(Math.max(0, r.offset - limit)); } }),
          h("span", { text: t("records_range", { from: r.offset + 1, to: to, total: r.total }) }),
          h("button", { id: "next-page", disabled: to >= r.total, text: t("records_next"),
            onclick: function () { go(to); } })));
      }, function (e) { if (e.status !== 401) add(list, errorBox(e.message)); });
    }).catch(function (e) { if (e.status !== 401) add(box, errorBox(e.message)); });
  }

  function recordPage(params) {
    var table = params.get("table") || "", rowid = params.get("rowid") || "";
    var m = setPage(t("record_title", { table: table, rowid: rowid }));
    add(m, h("div", { cls: "page-head" },
      h("h1", { text: t("record_title", { table: table, rowid: rowid }) }),
      h("a", { cls: "button", href: "#/records?table=" + q(table), text: t("back") })));
    var box = h("div", { id: "record-box" });
    add(m, box);
    api("GET", "record?table=" + q(table) + "&rowid=" + q(rowid)).then(function (d) {
      var rec = d.record;
      if (rec.deleted) add(box, h("p", { cls: "msg bad", text: t("record_deleted") }));
      var fields = h("dl", { cls: "facts record-fields", id: "record-fields" });
      rec.columns.forEach(function (c) {
        add(fields, h("div", { "data-column": c.name }, h("dt", null, c.name, " ",
          h("small", { cls: "muted", text: "#" + c.field })), h("dd", null, fmtValue(c.value))));
      });
      add(box, h("section", { cls: "card" }, h("h2", { text: t("record_fields") }), fields));
      var logBox = h("section", { cls: "card", id: "record-log" }, h("h2", { text: t("record_log") }));
      add(box, logBox);
      var entries = d.log ? d.log.entries : [];
      if (entries.length === 0) { add(logBox, h("p", { cls: "empty", text: t("log_none") })); return; }
      if (entries.length >= LOG_SHOWN) {
        add(logBox, h("p", { cls: "muted", id: "record-log-capped", text: t("log_capped",
          { n: LOG_SHOWN, table: d.record.table || "", rowid: d.record.rowid }) }));
      }
      var tb = h("tbody");
      entries.forEach(function (e) {
        var what = e.kind === "created" ? h("em", { text: t("log_created") }) :
          h("span", null, fmtValue(e.old), " → ", fmtValue(e["new"]),
            e.kind === "hard-delete" ? h("span", { cls: "badge", text: t("log_hard_delete") }) : null);
        add(tb, h("tr", { cls: "log-entry" + (e.conflict ? " conflict" : "") },
          h("td", { "data-label": t("log_when"), text: fmtTime(e.time) }),
          h("td", { "data-label": t("log_field"), text: e.column || (e.kind === "created" ? "—" : String(e.field)) }),
          h("td", { "data-label": t("log_change") }, what),
          h("td", { "data-label": t("log_source"), cls: "source", text: e.source === "local" ? t("log_local") : e.source }),
          h("td", { "data-label": t("log_conflict") }, e.conflict ? h("span", { cls: "badge warn-badge", text: t("log_conflict") }) : "")));
      });
      add(logBox, h("div", { cls: "scroll" }, h("table", { cls: "grid stack log" },
        h("thead", null, h("tr", null, [t("log_when"), t("log_field"), t("log_change"), t("log_source"),
          t("log_conflict")].map(function (x) { return h("th", { text: x }); }))), tb)));
    }, function (e) { if (e.status !== 401) add(box, errorBox(e.message)); });
  }

  /* --- routing ------------------------------------------------------------- */

  var PAGES = {
    "/pairings": pairingsPage, "/tables": tablesPage, "/map": mapPage,
    "/conflicts": conflictsPage, "/records": recordsPage, "/record": recordPage
  };

  function route() {
    stopTimers();
    if (!state.csrf) { showLogin(); return; }
    var hash = location.hash.replace(/^#/, "") || "/pairings";
    var qi = hash.indexOf("?");
    var path = qi >= 0 ? hash.slice(0, qi) : hash;
    var params = new URLSearchParams(qi >= 0 ? hash.slice(qi + 1) : "");
    var page = PAGES[path] || pairingsPage;
    document.querySelectorAll("#nav a").forEach(function (a) {
      var target = a.getAttribute("href").slice(1);
      a.classList.toggle("current", target === path || (path === "/map" && target === "/pairings") ||
        (path === "/record" && target === "/records"));
    });
    page(params);
  }

  function start() {
    document.getElementById("nav-pairings").textContent = t("nav_pairings");
    document.getElementById("nav-tables").textContent = t("nav_tables");
    document.getElementById("nav-conflicts").textContent = t("nav_conflicts");
    document.getElementById("nav-records").textContent = t("nav_records");
    var lo = document.getElementById("logout");
    lo.textContent = t("logout");
    lo.addEventListener("click", logout);
    window.addEventListener("hashchange", route);
    fetch("/api/session", { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (s) {
      if (s) {
        state.csrf = s.csrf;
        state.instance = s.instance;
        showFrame(true);
        route();
      } else showLogin();
    }, function () { showLogin(); });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
