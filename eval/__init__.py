"""archbench.eval"""
