int main() { return 1; }  // replaced by the generator (in progress)
