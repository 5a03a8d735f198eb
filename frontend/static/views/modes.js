// The user page's modes: mode in the URL -> its label and the registry model type it uses.

export const MODES = {
  recommendations: { label: 'Recommendations', type: 'recommendations' },
  ranking: { label: 'Personal ranking', type: 'ranking' },
  similar: { label: 'Similar items', type: 'similar-items' },
};
