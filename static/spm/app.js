// The phone's menu button opens and closes the main navigation.
(function () {
  var button = document.querySelector(".nav-toggle");
  var nav = document.getElementById("mainnav");
  if (!button || !nav) { return; }
  button.addEventListener("click", function () {
    var open = nav.classList.toggle("open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();

// Behaviour the templates ask for by attribute (the Content-Security-Policy allows
// no inline handlers): data-autosubmit submits a select's form when it changes,
// data-confirm asks before a form is sent, data-dialog-close empties the dialog.
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.matches && field.matches("[data-autosubmit]") && field.form) {
    field.form.submit();
  }
});
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("[data-dialog-close]")) {
    var dialog = document.getElementById("dialog");
    if (dialog) { dialog.innerHTML = ""; }
  }
});
