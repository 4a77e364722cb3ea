int cfoo_triple(int x) { return 3 * x; }
