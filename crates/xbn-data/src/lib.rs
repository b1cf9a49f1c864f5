//! Metric-learning dataset readers (SOP, In-Shop, DeepFashion2, CUB, Cars, Fashion-MNIST, synthetic), image pipeline, P×K sampler and parallel loader.
