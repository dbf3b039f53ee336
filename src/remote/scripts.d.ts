/**
 * The programs Ferry runs on a host (src/remote/scripts/*.sh, *.bash, src/transport/scripts/*.sh, *.awk) are bundled as text: esbuild's `text` loader
 * (esbuild.config.mjs) and a small vite plugin in the vitest configs (scriptText in vitest.config.ts).
 */
declare module '*.sh' {
  const text: string;
  export default text;
}
declare module '*.bash' {
  const text: string;
  export default text;
}
declare module '*.awk' {
  const text: string;
  export default text;
}
