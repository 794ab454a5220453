// The part of undici rf-agent uses, behind one module that undici.ts imports on first use (a static
// re-export, so the bundle keeps the named export of this CommonJS package).
export { request } from "undici";
