// Starts Swagger UI on the contract of the server that served this page. It
// lives in a file of its own because the page's Content-Security-Policy
// allows no inline script.

// The contract also declares this page and its files, for completeness; the
// page is about the partner API, so it leaves out every operation marked
// x-zest-reference-hidden (and a tag left with none).
const HideReferenceOperations = () => ({
  statePlugins: {
    spec: {
      wrapSelectors: {
        taggedOperations: (original) => (...args) =>
          original(...args)
            .map((tag) => tag.set("operations", tag.get("operations").filter(
              (op) => op.getIn(["operation", "x-zest-reference-hidden"]) !== true)))
            .filter((tag) => tag.get("operations").size > 0),
      },
    },
  },
});

window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // The default would send the contract to the public online validator.
  validatorUrl: null,
  plugins: [HideReferenceOperations],
});
