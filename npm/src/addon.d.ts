// Types ./addon.js, the native addon loader the build writes next to each
// output (npm/dist/{esm,cjs}/addon.js, re-exporting npm/addon.{mjs,cjs}).
declare const addon: unknown;
export default addon;
