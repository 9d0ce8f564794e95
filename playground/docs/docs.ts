/**
 * Mounts Swagger UI (swagger-ui-dist's bundle, served by the worker next to this file) on the worker's own OpenAPI
 * document. "Try it out" calls this same worker; the credential given to "Authorize" stays in the page's memory.
 */
interface SwaggerUIOptions {
  url: string;
  dom_id: string;
  deepLinking: boolean;
  docExpansion: "list" | "full" | "none";
  tryItOutEnabled: boolean;
  persistAuthorization: boolean;
  validatorUrl: null;
  displayRequestDuration: boolean;
  defaultModelsExpandDepth: number;
}
declare global {
  interface Window {
    SwaggerUIBundle?: (options: SwaggerUIOptions) => unknown;
  }
}

function mount(): void {
  const create = window.SwaggerUIBundle;
  const root = document.getElementById("swagger-ui");
  if (!create || !root) {
    if (root) root.textContent = "The API reference did not load: /docs/swagger-ui-bundle.js is missing.";
    return;
  }
  root.textContent = "";
  create({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "list",
    tryItOutEnabled: false,
    persistAuthorization: false,
    // Never send the document to a validator elsewhere.
    validatorUrl: null,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
  });
}

// Module scripts run after deferred classic ones, so the bundle is there by now.
mount();

export {};
