(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("matrix-data").textContent);
  var ops = data.ops, users = data.users, dts = data.doctypes, rows = data.rows, glyphs = data.glyphs;
  var W = ops.length, nD = dts.length;
  var present = null;
  if (data.present) {
    present = new Set(data.present);
  }
  var table = document.getElementById("heat");
  var head = table.tHead, body = table.tBodies[0];
  var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" };
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }
  var cellHtml = {};
  Object.keys(glyphs).forEach(function (code) {
    cellHtml[code] = "<i class=\"o-" + (code === "-" ? "x" : code) + "\">" + esc(glyphs[code][0]) + "</i>";
  });

  function build() {
    var h = ["<tr><th class=\"corner\">DocType \\ user</th>"];
    for (var u = 0; u < users.length; u++) {
      h.push("<th class=\"u\" data-u=\"" + u + "\" title=\"" + esc(users[u]) + "\"><span>" + esc(users[u]) + "</span></th>");
    }
    h.push("</tr>");
    head.innerHTML = h.join("");
    var b = [];
    for (var d = 0; d < nD; d++) {
      var row = rows[d];
      b.push("<tr data-d=\"" + d + "\"" + (dts[d][2] ? " class=\"sens\"" : "") + "><th title=\"" +
             esc(dts[d][0]) + "\">" + esc(dts[d][0]) + "</th>");
      for (var v = 0; v < users.length; v++) {
        if (present && !present.has(v * nD + d)) { b.push("<td class=\"none\"></td>"); continue; }
        b.push("<td class=\"cell\" id=\"c-" + v + "-" + d + "\">");
        for (var k = 0; k < W; k++) { b.push(cellHtml[row.charAt(v * W + k)] || cellHtml["-"]); }
        b.push("</td>");
      }
      b.push("</tr>");
    }
    body.innerHTML = b.join("");
  }

  var fUser = document.getElementById("f-user"), fModule = document.getElementById("f-module"),
      fOp = document.getElementById("f-op"), fOutcome = document.getElementById("f-outcome"),
      fSens = document.getElementById("f-sensitive"), fText = document.getElementById("f-text"),
      shown = document.getElementById("f-shown");

  function matches(row, u, op, outcome) {
    if (op >= 0) { return row.charAt(u * W + op) === outcome; }
    for (var k = 0; k < W; k++) { if (row.charAt(u * W + k) === outcome) { return true; } }
    return false;
  }

  function apply() {
    var user = fUser.value === "" ? -1 : Number(fUser.value);
    var module = fModule.value, outcome = fOutcome.value, sens = fSens.checked;
    var op = fOp.value === "" ? -1 : Number(fOp.value);
    var text = fText.value.trim().toLowerCase();
    if (op >= 0) { table.dataset.op = String(op); } else { delete table.dataset.op; }
    var ths = head.rows[0].cells;
    for (var u = 0; u < users.length; u++) { ths[u + 1].hidden = user >= 0 && u !== user; }
    var count = 0, trs = body.rows;
    for (var d = 0; d < trs.length; d++) {
      var tr = trs[d], info = dts[d], row = rows[d];
      var show = (!module || info[1] === module) && (!sens || info[2] === 1) &&
                 (!text || info[0].toLowerCase().indexOf(text) >= 0);
      var any = false;
      for (var v = 0; v < users.length; v++) {
        var td = tr.cells[v + 1];
        td.hidden = user >= 0 && v !== user;
        if (!outcome || td.className === "none") { td.classList.remove("dim"); continue; }
        var hit = matches(row, v, op, outcome);
        td.classList.toggle("dim", !hit);
        if (hit && !td.hidden) { any = true; }
      }
      if (outcome && !any) { show = false; }
      tr.hidden = !show;
      if (show) { count++; }
    }
    shown.textContent = count + " of " + nD + " DocTypes shown";
  }

  function reset() {
    fUser.value = ""; fModule.value = ""; fOp.value = ""; fOutcome.value = ""; fSens.checked = false;
    fText.value = "";
    apply();
  }

  var info = document.getElementById("cellinfo");
  function describe(td) {
    var m = /^c-(\d+)-(\d+)$/.exec(td.id);
    if (!m) { return; }
    var u = Number(m[1]), d = Number(m[2]), row = rows[d], parts = [];
    for (var k = 0; k < W; k++) {
      var code = row.charAt(u * W + k);
      parts.push(ops[k] + ": " + (glyphs[code] || glyphs["-"])[1]);
    }
    info.textContent = users[u] + " \u00b7 " + dts[d][0] + " \u2014 " + parts.join(", ");
  }

  var current = null;
  function goto(id) {
    var td = document.getElementById(id);
    if (!td) { return false; }
    if (td.hidden || td.parentElement.hidden) { reset(); }
    if (current) { current.classList.remove("target"); }
    td.classList.add("target");
    current = td;
    describe(td);
    td.scrollIntoView({ block: "center", inline: "center" });
    return true;
  }

  build();
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
  apply();
  if (location.hash.indexOf("#c-") === 0) { goto(location.hash.slice(1)); }
  document.body.dataset.ready = "1";
}());
