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
