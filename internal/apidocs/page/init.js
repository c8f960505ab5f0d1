// Starts Swagger UI on the contract of the server that served this page. It
// lives in a file of its own because the page's Content-Security-Policy
// allows no inline script.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // The default would send the contract to the public online validator.
  validatorUrl: null,
});
