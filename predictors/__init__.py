"""archbench.predictors"""
