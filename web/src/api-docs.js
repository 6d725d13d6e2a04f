// The interactive API docs at /docs: Swagger UI over the server's two OpenAPI documents, which the
// server generates from its route declarations. Loaded as a file (the page's CSP allows no inline
// script); nothing is fetched from anywhere but this server (no validator badge, no CDN).
/* global SwaggerUIBundle, SwaggerUIStandalonePreset */
window.ui = SwaggerUIBundle({
  urls: [
    { url: "/openapi.json", name: "Passerelle REST API (people's apps, operator)" },
    { url: "/openapi/business.json", name: "Business API (WhatsApp Cloud API compatible)" },
  ],
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  // The highlighter colours code with inline styles, which the page's CSP (style-src 'self') refuses.
  syntaxHighlight: { activated: false },
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  plugins: [SwaggerUIBundle.plugins.DownloadUrl],
  layout: "StandaloneLayout",
});
