(function () {
  "use strict";
  document.body.dataset.startMs = String(Math.round(performance.now()));
  var data = JSON.parse(document.getElementById("matrix-data").textContent);
  var ops = data.ops, users = data.users, dts = data.doctypes, rows = data.rows, glyphs = data.glyphs;
  var W = ops.length, nD = dts.length, nU = users.length;
  var present = data.present ? new Set(data.present) : null;
  var table = document.getElementById("heat");
  var head = table.tHead, body = table.tBodies[0];
  var FIRST = 60, CHUNK = 120;
  var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" };
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }

  var COLOURED = { a: 1, f: 1, u: 1, e: 1 };
  var cache = {};
  // the glyphs of one cell: a run of a coloured outcome in one <i>, the grey ones as plain text
  function cellHtml(pattern, op) {
    var key = op + pattern, hit = cache[key];
    if (hit !== undefined) { return hit; }
    var out = "", i = op >= 0 ? op : 0, end = op >= 0 ? op + 1 : W;
    while (i < end) {
      var code = pattern.charAt(i), j = i, text = "", g = (glyphs[code] || glyphs["-"])[0];
      while (j < end && pattern.charAt(j) === code) { text += g; j++; }
      out += COLOURED[code] ? "<i class=\"o-" + code + "\">" + esc(text) + "</i>" : esc(text);
      i = j;
    }
    cache[key] = out;
    return out;
  }

  function rowHtml(d, op) {
    var row = rows[d], b = ["<tr data-d=\"" + d + "\"" + (dts[d][2] ? " class=\"sens\"" : "") +
      "><th title=\"" + esc(dts[d][0]) + "\">" + esc(dts[d][0]) + "</th>"];
    for (var v = 0; v < nU; v++) {
      if (present && !present.has(v * nD + d)) { b.push("<td class=\"none\"></td>"); continue; }
      b.push("<td class=\"cell\" id=\"c-" + v + "-" + d + "\">" + cellHtml(row.substr(v * W, W), op) + "</td>");
    }
    b.push("</tr>");
    return b.join("");
  }

  function buildHead() {
    var h = ["<tr><th class=\"corner\">DocType \\ user</th>"];
    for (var u = 0; u < nU; u++) {
      h.push("<th class=\"u\" data-u=\"" + u + "\" title=\"" + esc(users[u]) + "\"><span>" + esc(users[u]) + "</span></th>");
    }
    h.push("</tr>");
    head.innerHTML = h.join("");
  }

  var fUser = document.getElementById("f-user"), fModule = document.getElementById("f-module"),
      fOp = document.getElementById("f-op"), fOutcome = document.getElementById("f-outcome"),
      fSens = document.getElementById("f-sensitive"), fText = document.getElementById("f-text"),
      shown = document.getElementById("f-shown");
  var state = null, built = 0, builtOp = -1, generation = 0, visible = 0, current = null;

  function readFilters() {
    return {
      user: fUser.value === "" ? -1 : Number(fUser.value), module: fModule.value,
      op: fOp.value === "" ? -1 : Number(fOp.value), outcome: fOutcome.value,
      sens: fSens.checked, text: fText.value.trim().toLowerCase()
    };
  }

  function matches(row, u, op, outcome) {
    if (op >= 0) { return row.charAt(u * W + op) === outcome; }
    for (var k = 0; k < W; k++) { if (row.charAt(u * W + k) === outcome) { return true; } }
    return false;
  }

  // show or hide rows [from, to) for the current filters; returns how many are shown
  function applyRows(from, to) {
    var f = state, count = 0, trs = body.rows;
    for (var d = from; d < to; d++) {
      var tr = trs[d], info = dts[d], row = rows[d];
      var show = (!f.module || info[1] === f.module) && (!f.sens || info[2] === 1) &&
                 (!f.text || info[0].toLowerCase().indexOf(f.text) >= 0);
      var any = false;
      for (var v = 0; v < nU; v++) {
        var td = tr.cells[v + 1];
        td.hidden = f.user >= 0 && v !== f.user;
        if (!f.outcome || td.className === "none") { td.classList.remove("dim"); continue; }
        var hit = matches(row, v, f.op, f.outcome);
        td.classList.toggle("dim", !hit);
        if (hit && !td.hidden) { any = true; }
      }
      if (f.outcome && !any) { show = false; }
      tr.hidden = !show;
      if (show) { count++; }
    }
    return count;
  }

  function report() {
    shown.textContent = visible + " of " + nD + " DocTypes shown" + (built < nD ? " (drawing…)" : "");
  }

  function append(to) {
    var b = [];
    for (var d = built; d < to; d++) { b.push(rowHtml(d, builtOp)); }
    body.insertAdjacentHTML("beforeend", b.join(""));
    visible += applyRows(built, to);
    built = to;
  }

  function finished() {
    report();
    if (!document.body.dataset.ready) {
      document.body.dataset.readyMs = String(Math.round(performance.now()));
      document.body.dataset.ready = "1";
    }
  }

  // draw the first screen now and the rest in small steps, so the page answers at once
  function draw(op) {
    var mine = ++generation;
    builtOp = op; built = 0; visible = 0;
    body.textContent = "";
    append(Math.min(FIRST, nD));
    report();
    function step() {
      if (mine !== generation) { return; }
      append(Math.min(built + CHUNK, nD));
      if (built < nD) { setTimeout(step, 0); report(); } else { finished(); }
    }
    if (built < nD) { setTimeout(step, 0); } else { finished(); }
  }

  function drawAll() {
    if (built < nD) { generation++; append(nD); finished(); }
  }

  function apply() {
    state = readFilters();
    var ths = head.rows[0].cells;
    for (var u = 0; u < nU; u++) { ths[u + 1].hidden = state.user >= 0 && u !== state.user; }
    if (state.op !== builtOp) {
      var keep = current && current.id;
      draw(state.op);
      if (keep) { drawAll(); current = document.getElementById(keep); current.classList.add("target"); }
      return;
    }
    visible = applyRows(0, built);
    report();
  }

  function reset() {
    fUser.value = ""; fModule.value = ""; fOp.value = ""; fOutcome.value = "";
    fSens.checked = false; fText.value = "";
    apply();
  }

  var info = document.getElementById("cellinfo");
  function describe(td) {
    var m = /^c-(\d+)-(\d+)$/.exec(td.id);
    if (!m) { return; }
    var u = Number(m[1]), d = Number(m[2]), row = rows[d], parts = [];
    for (var k = 0; k < W; k++) {
      parts.push(ops[k] + ": " + (glyphs[row.charAt(u * W + k)] || glyphs["-"])[1]);
    }
    info.textContent = users[u] + " \u00b7 " + dts[d][0] + " \u2014 " + parts.join(", ");
  }

  function goto(id) {
    drawAll();
    var td = document.getElementById(id);
    if (!td) { return false; }
    if (td.hidden || td.parentElement.hidden) { reset(); drawAll(); td = document.getElementById(id); }
    if (current) { current.classList.remove("target"); }
    td.classList.add("target");
    current = td;
    describe(td);
    td.scrollIntoView({ block: "center", inline: "center" });
    return true;
  }

  buildHead();
  state = readFilters();
  [fUser, fModule, fOp, fOutcome, fSens].forEach(function (el) { el.addEventListener("change", apply); });
  fText.addEventListener("input", apply);
  document.getElementById("f-reset").addEventListener("click", reset);
  body.addEventListener("click", function (ev) {
    var td = ev.target.closest("td.cell");
    if (td) { describe(td); }
  });
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest("a.ev");
    if (!a) { return; }
    var id = a.getAttribute("href").slice(1);
    if (goto(id)) {
      ev.preventDefault();
      history.replaceState(null, "", "#" + id);
    }
  });
  window.addEventListener("beforeprint", drawAll);
  draw(state.op);
  // interactive: the first screen has been painted (measured after the next frame)
  requestAnimationFrame(function () {
    setTimeout(function () { document.body.dataset.interactiveMs = String(Math.round(performance.now())); }, 0);
  });
  if (location.hash.indexOf("#c-") === 0) { goto(location.hash.slice(1)); }
}());
