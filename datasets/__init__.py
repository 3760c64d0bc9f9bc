"""archbench.datasets"""
