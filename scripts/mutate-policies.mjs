// Mutation check of the exit policies' formulas: each mutant below is a plausible
// mistake (a factor in an exploration bonus, a sign, an off-by-one, the wrong
// reference, a strict comparison for a non-strict one) applied to the compiled
// policy code; the tests of that policy must fail on it. A mutant that survives
// is a formula the suite does not pin down, and fails this check.
//
// Usage: node scripts/mutate-policies.mjs [filter ...]   (after `npm run build`)
//   filters keep the mutants whose file or name contains one of them.
//
// Not listed: mutants that cannot change a result (equivalent mutants), e.g. risk.ts
// without the running max (an interval of thresholds whose running max did not rise
// is skipped either way), or EENet's KL gradient without its "+ 1" (a constant across
// exits, which the softmax's Jacobian removes).
//
// Each worker mutates its own copy of dist/ in a temporary folder (node_modules,
// resources and the shared data are linked, not copied), so the build the rest
// of the suite runs stays untouched, and workers run side by side. A mutant's
// text must occur exactly once in its file: when the code changes under a
// mutant, this check says so instead of testing nothing.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** A mutant's tests may run this long before it counts as killed by a timeout (an infinite loop is a kill too, but says so). */
const TIMEOUT_MS = 120_000;

/** Tests that pin each file's formulas (compiled paths under dist/test/policies). */
const TESTS = {
  ueeucb: ['hand-worked'],
  dee: ['hand-worked', 'learning'],
  ceebert: ['ceebert'],
  eenet: ['eenet', 'hand-worked'],
  risk: ['risk', 'hand-worked'],
};

/** [file under dist/src/policies, tests, name, text, replacement]. */
const MUTANTS = [
  ['uee-ucb.js', TESTS.ueeucb, 'exploration bonus doubled', 'const logT = this.alpha * Math.log(round);', 'const logT = 2 * this.alpha * Math.log(round);'],
  ['uee-ucb.js', TESTS.ueeucb, 'exploration bonus halved', 'const logT = this.alpha * Math.log(round);', 'const logT = 0.5 * this.alpha * Math.log(round);'],
  ['uee-ucb.js', TESTS.ueeucb, 'ln(t + 1) for ln(t)', 'const logT = this.alpha * Math.log(round);', 'const logT = this.alpha * Math.log(round + 1);'],
  ['uee-ucb.js', TESTS.ueeucb, 'round 1 plays exit 1', 'if (round === 1)\n            return K - 1;', 'if (round === 1)\n            return 0;'],
  ['uee-ucb.js', TESTS.ueeucb, 'disagreement with the previous exit, not exit 1', 'if (obs.pred(k) !== y1)', 'if (obs.pred(k) !== obs.pred(k - 1))'],
  ['uee-ucb.js', TESTS.ueeucb, 'cost gap with the sign flipped', 'd[j] / nj + c1 - c[j] +', 'd[j] / nj - c1 + c[j] +'],
  ['uee-ucb.js', TESTS.ueeucb, 'bonus over N_j + 1', 'Math.sqrt(logT / nj)', 'Math.sqrt(logT / (nj + 1))'],
  ['uee-ucb.js', TESTS.ueeucb, 'ties to the deepest exit', 'if (v > bestV) {\n                bestV = v; // strict', 'if (v >= bestV) {\n                bestV = v; // strict'],
  ['uee-ucb.js', TESTS.ueeucb, 'learned exit ignores the costs', 'this.d[j] / nj + this.c[0] - this.c[j]', 'this.d[j] / nj'],
  ['dee.js', TESTS.dee, 'exploration bonus doubled', 'this.logT = this.frozen ? 0 : this.alpha * Math.log(round);', 'this.logT = this.frozen ? 0 : 2 * this.alpha * Math.log(round);'],
  ['dee.js', TESTS.dee, 'reward charged exit 1\'s cost', 'const r = obs.maxProb(exit) - this.c[exit];', 'const r = obs.maxProb(exit) - this.c[0];'],
  ['dee.js', TESTS.dee, 'Q a running sum, not a mean', 'this.q[i] += (r - this.q[i]) / n;', 'this.q[i] += r;'],
  ['dee.js', TESTS.dee, 'strict comparison', 'n > 0 && conf >= this.q[i]', 'n > 0 && conf > this.q[i]'],
  ['dee.js', TESTS.dee, 'an unvisited context exits', 'const exit = n > 0 && conf', 'const exit = n === 0 || conf'],
  ['dee.js', TESTS.dee, 'the exit\'s own context credited too', 'for (let k = 0; k < exit; k++) {\n            const i = k * this.B + this.path[k];', 'for (let k = 0; k <= exit && k < this.K - 1; k++) {\n            const i = k * this.B + this.path[k];'],
  ['dee.js', TESTS.dee, 'learned thresholds without the cost', 'row.push(this.n[i] > 0 ? this.q[i] + this.c[k] : null);', 'row.push(this.n[i] > 0 ? this.q[i] : null);'],
  ['dee.js', TESTS.dee, 'optimal rule prefers continuing on ties', 'sumExit[b] >= sumCont[b] ? 1 : 0', 'sumExit[b] > sumCont[b] ? 1 : 0'],
  ['rules/binned.js', TESTS.dee, 'bins over [0, 1] instead of [1/C, 1]', 'const lo = 1 / classes;', 'const lo = 0;'],
  ['ceebert.js', TESTS.ceebert, 'bonus c ln t, not c^2 ln t', 'const bonus = this.c * this.c * Math.log(t);', 'const bonus = this.c * Math.log(t);'],
  ['ceebert.js', TESTS.ceebert, 'reward charged the whole cost, not the gap to exit 1', 'obs.maxProb(j) - p1 - (this.cost[j] - c1)', 'obs.maxProb(j) - p1 - this.cost[j]'],
  ['ceebert.js', TESTS.ceebert, 'reward without the confidence gain', 'obs.maxProb(j) - p1 - (this.cost[j] - c1)', '-(this.cost[j] - c1)'],
  ['ceebert.js', TESTS.ceebert, 'lower arms: strict reach', 'while (j > 0 && m[j - 1] >= th)', 'while (j > 0 && m[j - 1] > th)'],
  ['ceebert.js', TESTS.ceebert, 'warm-up skips the last arm', 'if (t < A) {', 'if (t < A - 1) {'],
  ['ceebert.js', TESTS.ceebert, 'best arm ties to the highest threshold', 'if (this.n[a] > 0 && this.q[a] > bestV) {', 'if (this.n[a] > 0 && this.q[a] >= bestV) {'],
  ['ceebert.js', TESTS.ceebert, 'threshold reached only strictly', 'return obs.maxProb(obs.depth - 1) >= this.grid[this.arm];', 'return obs.maxProb(obs.depth - 1) > this.grid[this.arm];'],
  ['eenet-loss.js', TESTS.eenet, 'BCE gradient sign flipped', 'const dq = (a * (qc - z)) / (qc * (1 - qc)) / m;', 'const dq = (a * (z - qc)) / (qc * (1 - qc)) / m;'],
  ['eenet-loss.js', TESTS.eenet, 'KL gradient with log r added', 'wKL * (la - Math.log(r) + 1)', 'wKL * (la + Math.log(r) + 1)'],
  ['eenet-loss.js', TESTS.eenet, 'budget gradient sign flipped', '(wCost * sign * costs[k]) / B', '(-wCost * sign * costs[k]) / B'],
  ['eenet-loss.js', TESTS.eenet, 'softmax Jacobian without the mean term', 'const dg = A[b * K + k] * (dA[k] - dot);', 'const dg = A[b * K + k] * dA[k];'],
  ['eenet-loss.js', TESTS.eenet, 'cost term not relative to the budget', 'costTerm: Math.abs(ec / n - B) / B }', 'costTerm: Math.abs(ec / n - B) }'],
  ['eenet-model.js', TESTS.eenet, 'Adam steps uphill', 'p[j] -= (this.lr * (m[j] / c1))', 'p[j] += (this.lr * (m[j] / c1))'],
  ['eenet-model.js', TESTS.eenet, 'entropy confidence not flipped', 'x[xOff + C + 1] = 1 - data.entropy[s * K + k];', 'x[xOff + C + 1] = data.entropy[s * K + k];'],
  ['share-filling.js', TESTS.eenet, 'share filling takes one sample too few', 'const t = sorted[len - m];', 'const t = sorted[len - m + 1] ?? sorted[len - 1];'],
  ['risk-bounds.js', TESTS.risk, 'binomial tail one term short', 'for (let i = 0; i < k; i++) {', 'for (let i = 0; i < k - 1; i++) {'],
  ['risk-bounds.js', TESTS.risk, 'Hoeffding divergence with eps for 1 - eps', 'Math.log((1 - a) / (1 - eps))', 'Math.log((1 - a) / eps)'],
  ['risk-bounds.js', TESTS.risk, 'Hoeffding-Bentkus takes the larger p-value', 'Math.min(hoeffdingLog(losses, n, eps), 1 + logTail)', 'Math.max(hoeffdingLog(losses, n, eps), 1 + logTail)'],
  ['risk-bounds.js', TESTS.risk, 'Bentkus factor dropped', 'Math.min(hoeffdingLog(losses, n, eps), 1 + logTail)', 'Math.min(hoeffdingLog(losses, n, eps), logTail)'],
  ['risk-bounds.js', TESTS.risk, 'critical count one too many', 'if (pValueLog(test, k + 1, n, eps, logCdf) > logDelta)\n            return k;', 'if (pValueLog(test, k + 1, n, eps, logCdf) > logDelta)\n            return k + 1;'],
  ['risk-bounds.js', TESTS.risk, 'upper bound bisects the wrong way', 'if (pValueLog(test, losses, n, mid, binomialLogCdf(losses, n, mid)) > logDelta)\n            lo = mid;\n        else\n            hi = mid;', 'if (pValueLog(test, losses, n, mid, binomialLogCdf(losses, n, mid)) > logDelta)\n            hi = mid;\n        else\n            lo = mid;'],
  ['risk.js', TESTS.risk, 'walk goes one threshold past the critical count', 'if (losses > critical)\n            break;', 'if (losses > critical + 1)\n            break;'],
  ['risk.js', TESTS.risk, 'error risk counts every error', ": p !== y && last === y;", ': p !== y;'],
  ['risk.js', TESTS.risk, 'deployed threshold reached only strictly', 'return t !== null && obs.maxProb(obs.depth - 1) >= t;', 'return t !== null && obs.maxProb(obs.depth - 1) > t;'],
].map(([file, tests, name, from, to]) => ({ file, tests, name, from, to }));

function count(text, sub) {
  let n = 0;
  for (let i = text.indexOf(sub); i >= 0; i = text.indexOf(sub, i + 1)) n++;
  return n;
}

/** A copy of the build to mutate: dist/ copied, the rest linked, laid out so the code finds the shared data as it would. */
function workspace(base, w) {
  const proj = join(base, `w${w}`, 'project');
  cpSync(join(root, 'dist'), join(proj, 'dist'), { recursive: true });
  writeFileSync(join(proj, 'package.json'), readFileSync(join(root, 'package.json')));
  for (const name of ['node_modules', 'resources']) symlinkSync(realpathSync(join(root, name)), join(proj, name));
  const shared = join(root, '..', 'shared');
  if (existsSync(shared)) symlinkSync(realpathSync(shared), join(base, `w${w}`, 'shared'));
  return proj;
}

function runTests(proj, tests) {
  const files = tests.map((t) => join(proj, 'dist', 'test', 'policies', `${t}.test.js`));
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--test', '--test-reporter=dot', ...files], { cwd: proj, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, out, seconds: (Date.now() - started) / 1000 });
    });
  });
}

async function main() {
  const filters = process.argv.slice(2);
  if (!existsSync(join(root, 'dist', 'src', 'policies', 'uee-ucb.js'))) {
    console.error('mutate-policies: dist/ is not built; run `npm run build` first');
    process.exit(2);
  }
  const mutants = MUTANTS.filter((m) => filters.length === 0 || filters.some((f) => `${m.file} ${m.name}`.includes(f)));
  // Every mutant must apply to the current code, exactly once.
  const stale = mutants.filter((m) => count(readFileSync(join(root, 'dist', 'src', 'policies', m.file), 'utf8'), m.from) !== 1);
  if (stale.length) {
    for (const m of stale) console.error(`mutate-policies: ${m.file}: "${m.name}" no longer applies (its text is not in the file exactly once); update the mutant`);
    process.exit(2);
  }
  const base = mkdtempSync(join(tmpdir(), 'mutate-policies-'));
  const cleanUp = () => rmSync(base, { recursive: true, force: true });
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => { cleanUp(); process.exit(130); });
  const workers = Math.max(1, Math.min(availableParallelism(), 4, mutants.length));
  const started = Date.now();
  try {
    const projects = Array.from({ length: workers }, (_, w) => workspace(base, w));
    // The tests must pass on the code as it is, or every mutant would look killed.
    const suites = [...new Set(mutants.map((m) => m.tests.join(' ')))];
    for (const s of suites) {
      const r = await runTests(projects[0], s.split(' '));
      if (r.code !== 0) {
        console.error(`mutate-policies: the tests (${s}) fail without any mutant:\n${r.out.slice(-3000)}`);
        process.exit(1);
      }
    }
    const results = new Array(mutants.length);
    let next = 0;
    await Promise.all(
      projects.map(async (proj) => {
        for (let i = next++; i < mutants.length; i = next++) {
          const m = mutants[i];
          const path = join(proj, 'dist', 'src', 'policies', m.file);
          const original = readFileSync(path, 'utf8');
          writeFileSync(path, original.replace(m.from, m.to));
          try {
            const r = await runTests(proj, m.tests);
            results[i] = { ...m, killed: r.code !== 0, how: r.signal ? `timed out after ${TIMEOUT_MS / 1000} s` : r.code !== 0 ? 'tests fail' : 'tests pass', seconds: r.seconds };
          } finally {
            writeFileSync(path, original);
          }
          const x = results[i];
          console.log(`${x.killed ? 'killed  ' : 'SURVIVED'} ${x.file.padEnd(18)} ${x.name} (${x.tests.join(', ')}: ${x.how}, ${x.seconds.toFixed(1)} s)`);
        }
      }),
    );
    const survived = results.filter((r) => !r.killed);
    console.log(`\n${results.length - survived.length} of ${results.length} mutants killed, ${survived.length} survived, in ${((Date.now() - started) / 1000).toFixed(0)} s (${workers} workers)`);
    if (survived.length) {
      console.log('Survivors (a formula the policy tests do not pin down):');
      for (const s of survived) console.log(`  ${s.file}: ${s.name}`);
      process.exitCode = 1;
    }
  } finally {
    cleanUp();
  }
}

await main();
