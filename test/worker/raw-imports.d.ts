/** Vite's `?raw` imports: a file's text (the README, for the OpenAPI examples test). */
declare module "*.md?raw" {
  const text: string;
  export default text;
}
