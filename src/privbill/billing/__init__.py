"""Bills: one module per charge component (prover and verifier side by side), the assembler of
payment messages and the verifier of whole payment messages."""
