"""Numba kernels, private: reach them through lstm_np.ops or the layers."""
