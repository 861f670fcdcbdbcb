// /api/docs: Swagger UI (vendored from npm) draws the OpenAPI document this portal generates.
(function () {
  "use strict";
  var target = document.getElementById("api-docs");
  if (!target || typeof window.SwaggerUIBundle === "undefined") { return; }
  window.SwaggerUIBundle({
    url: target.getAttribute("data-spec-url"),
    domNode: target,
    deepLinking: true,
    tryItOutEnabled: false,
    validatorUrl: null,
    defaultModelsExpandDepth: 0
  });
})();
