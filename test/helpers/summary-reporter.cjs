/**
 * Mocha's spec reporter plus one plain closing line, "N passed, N failed",
 * that CI systems read without knowing mocha. CommonJS because mocha loads
 * reporters with require().
 */
const Mocha = require("mocha");

const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats;
      if (!s) return;
      const skipped = s.pending > 0 ? `, ${s.pending} skipped` : "";
      console.log(`${s.passes} passed, ${s.failures} failed${skipped}`);
    });
  }
}

module.exports = SummaryReporter;
