"""CUDA C generation: fused elementwise (`elemwise`), reductions (`reduce`), the softmax family
and the fused crossentropy ops (`nnet`); `catalogue.all_kernels()` lists every kernel shape the
generator emits (the NVRTC tests compile each)."""
