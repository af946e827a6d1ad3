// Text files esbuild inlines as strings (`--loader:.txt=text`).
declare module '*.txt' {
  const text: string;
  export default text;
}
