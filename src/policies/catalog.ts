/** The policies a user can pick, with what each needs and which parameters it reads (for the UI and `--help`). */

export interface CatalogEntry {
  spec: string;
  title: string;
  summary: string;
  params: ('alpha' | 'bins' | 'budget' | 'warmup' | 'refitEvery' | 'epochs' | 'lambda')[];
  needs: ('confidence' | 'probs' | 'labels')[];
  kind: 'bandit' | 'trained' | 'baseline';
}

export const policyCatalog: CatalogEntry[] = [
  { spec: 'uee-ucb', title: 'UEE-UCB', summary: 'Unsupervised UCB bandit over exits (Hari Narayan N U et al., 2022).', params: ['alpha', 'lambda'], needs: [], kind: 'bandit' },
  { spec: 'dee', title: 'DEE', summary: 'Contextual bandit deciding exit-or-continue at each exit from binned confidence (studio reconstruction of Ju et al., 2021).', params: ['alpha', 'bins', 'lambda'], needs: ['confidence'], kind: 'bandit' },
  { spec: 'eenet', title: 'EENet', summary: 'Trained, budgeted exit scheduler (Ilhan et al., 2024).', params: ['budget', 'warmup', 'refitEvery', 'epochs'], needs: ['probs'], kind: 'trained' },
  { spec: 'last', title: 'Last exit', summary: 'Always the full model.', params: [], needs: [], kind: 'baseline' },
  { spec: 'fixed:1', title: 'Fixed exit', summary: 'Always exit k (fixed:K).', params: [], needs: [], kind: 'baseline' },
  { spec: 'random', title: 'Random exit', summary: 'A uniformly random exit each round.', params: [], needs: [], kind: 'baseline' },
  { spec: 'oracle', title: 'Best fixed exit (hindsight)', summary: 'The fixed exit with the least error + cost on the whole trace; needs labels.', params: ['lambda'], needs: ['labels'], kind: 'baseline' },
  { spec: 'maxprob:0.9', title: 'Max-probability threshold', summary: 'Exit at the first exit whose max probability reaches T (MSDNet style).', params: [], needs: ['confidence'], kind: 'baseline' },
  { spec: 'entropy:0.2', title: 'Entropy threshold', summary: 'Exit at the first exit whose normalized entropy is at most T (BranchyNet style).', params: [], needs: ['confidence'], kind: 'baseline' },
  { spec: 'patience:2', title: 'Patience', summary: 'Exit once P consecutive exits agree (PABEE).', params: [], needs: [], kind: 'baseline' },
  { spec: 'maxprob@budget:0.5', title: 'Max-probability at a budget', summary: 'Max-probability threshold calibrated on the trace to a mean cost B.', params: [], needs: ['confidence'], kind: 'baseline' },
];
