# Reduce family: normalisations, reductions, arg/top-k selection, resampling.
joule_kernel(softmax)
joule_kernel(reduce)
joule_kernel(arg_minmax)
joule_kernel(topk)
joule_kernel(resize)
joule_kernel(upsample)
