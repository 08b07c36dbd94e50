/* Optional interactivity: the report reads fully without JavaScript. Everything here works on the
 * DOM the C writer produced; no data is embedded in this script. */
(function () {
  'use strict';
  var body = document.body;
  var controls = document.getElementById('controls');
  if (!controls) return;
  controls.hidden = false;
  var only = document.getElementById('only-failed');
  if (only) {
    only.addEventListener('change', function () {
      body.classList.toggle('only-failed', only.checked);
    });
  }
  function setAll(open) {
    var list = document.querySelectorAll('details.scenario');
    for (var i = 0; i < list.length; i++) list[i].open = open;
  }
  var expand = document.getElementById('expand-all');
  var collapse = document.getElementById('collapse-all');
  if (expand) expand.addEventListener('click', function () { setAll(true); });
  if (collapse) collapse.addEventListener('click', function () { setAll(false); });
})();
