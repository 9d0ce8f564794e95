import { h } from "./dom.ts";

const RASTER = /^image\/(png|jpeg|gif|webp)$/;

/**
 * One rich output as an element. Images are `data:` URLs in <img> (an SVG shown as an image runs no script). HTML
 * goes into an iframe with an empty `sandbox`: no scripts, no forms, an opaque origin, so it can reach neither this
 * page nor its session storage; the page's content security policy applies inside it too. Anything else is text.
 */
export function renderMime(mime: string, data: string, label: string): HTMLElement {
  if (RASTER.test(mime)) return h("img", { src: `data:${mime};base64,${data}`, alt: label });
  if (mime === "image/svg+xml") {
    const src = data.trimStart().startsWith("<") ? `data:image/svg+xml;charset=utf-8,${encodeURIComponent(data)}` : `data:image/svg+xml;base64,${data}`;
    return h("img", { src, alt: label });
  }
  if (mime === "text/html") {
    const frame = h("iframe", { sandbox: "", title: `${label} (HTML)`, referrerpolicy: "no-referrer" });
    frame.srcdoc = data;
    return frame;
  }
  return h("pre", { "data-mime": mime }, data);
}
