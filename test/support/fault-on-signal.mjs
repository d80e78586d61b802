// Preloaded into a spawned `trellis serve` (NODE_OPTIONS=--import=<this file>) by test/cli-serve.test.ts:
// on SIGUSR2, an error nothing handles, as a bug in a callback would raise: a throw
// (TRELLIS_TEST_FAULT=throw, uncaughtException) or a rejected promise nobody awaits
// (TRELLIS_TEST_FAULT=rejection, unhandledRejection). Trellis itself has no hook for this.
process.on('SIGUSR2', () => {
  if (process.env.TRELLIS_TEST_FAULT === 'rejection') {
    void Promise.reject(new Error('forced by the test: a rejection nobody handles'));
  } else {
    throw new Error('forced by the test: a throw nobody catches');
  }
});
