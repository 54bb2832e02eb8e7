// Starts ReDoc from a file rather than an inline script, so the docs satisfy the Content Security Policy.
(function () {
  var container = document.getElementById("redoc-container");
  Redoc.init(container.dataset.specUrl, JSON.parse(container.dataset.settings || "{}"), container);
})();
