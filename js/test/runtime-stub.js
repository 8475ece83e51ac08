// What build.mjs inlines for "runtime:<name>", in unit tests: a runtime whose loading fails (views fall back to the
// kernel path, as they do where a runtime cannot load).
export default { source: "throw new Error('no runtime in unit tests')", hash: "unit-tests" };
