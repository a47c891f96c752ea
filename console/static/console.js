// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("click", function (e) {
  var t = e.target.closest("[data-confirm]");
  if (t && !window.confirm(t.getAttribute("data-confirm"))) { e.preventDefault(); }
  var p = e.target.closest("[data-print]");
  if (p) { e.preventDefault(); window.print(); }
});

// On a phone a list is read as cards, one per row (console.css, max-width 760px): each cell is labelled with its
// column's heading, taken from the table's first row when that row is all headings. Without this script a list
// stays a table that scrolls sideways. A table marked "chart" or "keep-table" is left as it is.
function labelTables() {
  var tables = document.querySelectorAll("main table");
  for (var i = 0; i < tables.length; i++) {
    var t = tables[i];
    if (t.classList.contains("chart") || t.classList.contains("keep-table") || !t.rows.length) { continue; }
    var head = t.rows[0], labels = [], ok = head.cells.length > 0;
    for (var c = 0; c < head.cells.length; c++) {
      var cell = head.cells[c];
      if (cell.tagName !== "TH") { ok = false; break; }
      for (var k = 0; k < (cell.colSpan || 1); k++) { labels.push(cell.textContent.trim()); }
    }
    if (!ok) { continue; }
    head.classList.add("head");
    for (var r = 1; r < t.rows.length; r++) {
      var col = 0, cells = t.rows[r].cells;
      for (var j = 0; j < cells.length; j++) {
        if (!cells[j].hasAttribute("data-label")) { cells[j].setAttribute("data-label", labels[col] || ""); }
        col += cells[j].colSpan || 1;
      }
    }
    t.classList.add("cards");
  }
}

// The menu on a narrow screen: only the current page's group stays open (a tap on a group's name opens another).
function foldMenu() {
  if (!window.matchMedia("(max-width: 899px)").matches) { return; }
  var groups = document.querySelectorAll("nav.side details.navgroup");
  for (var i = 0; i < groups.length; i++) {
    if (!groups[i].hasAttribute("data-current")) { groups[i].removeAttribute("open"); }
  }
}

// A filter box (data-filter="<selector of the items>") hides the items whose text does not contain what is typed;
// ticking an item whose box names a radio (data-scope) selects that radio (the new card's 指定干部).
document.addEventListener("input", function (e) {
  var sel = e.target.getAttribute && e.target.getAttribute("data-filter");
  if (!sel) { return; }
  var q = e.target.value.trim();
  var items = document.querySelectorAll(sel);
  var first = null;
  for (var i = 0; i < items.length; i++) {
    items[i].hidden = q !== "" && items[i].textContent.indexOf(q) < 0;
    if (!items[i].hidden && first === null) { first = items[i]; }
  }
  // a filtered <select> (data-pick) shows the first match picked, so a name typed is a name chosen
  var pick = e.target.getAttribute("data-pick");
  if (pick && q !== "" && first !== null) { document.querySelector(pick).value = first.value; }
});
document.addEventListener("change", function (e) {
  var radio = e.target.getAttribute && e.target.getAttribute("data-scope");
  if (radio && e.target.checked) { var r = document.querySelector(radio); if (r) { r.checked = true; } }
});

// A search box (data-search="<url>", data-into="<list>"): as one types, the matching households come back from the
// console (the offline page's search) as boxes to tick (household_ids); the ones ticked stay when searching on.
var searchTimer = null;
document.addEventListener("input", function (e) {
  var url = e.target.getAttribute && e.target.getAttribute("data-search");
  if (!url) { return; }
  var box = e.target, into = document.querySelector(box.getAttribute("data-into"));
  clearTimeout(searchTimer);
  searchTimer = setTimeout(function () {
    var q = box.value.trim();
    var kept = into.querySelectorAll("label.pick input:checked");
    var keep = [];
    for (var i = 0; i < kept.length; i++) { keep.push(kept[i].closest("label")); }
    into.innerHTML = "";
    for (var k = 0; k < keep.length; k++) { into.appendChild(keep[k]); }
    if (!q) { return; }
    fetch(url + "?q=" + encodeURIComponent(q), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (rows) {
        for (var j = 0; j < rows.length; j++) {
          if (into.querySelector("input[value='" + rows[j].id + "']")) { continue; }
          var label = document.createElement("label"); label.className = "pick";
          var input = document.createElement("input"); input.type = "checkbox"; input.name = "household_ids"; input.value = rows[j].id;
          label.appendChild(input); label.appendChild(document.createTextNode(" " + rows[j].label));
          into.appendChild(label);
        }
      });
  }, 250);
});

labelTables();
foldMenu();
