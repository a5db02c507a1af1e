namespace AsymCdc.Inference.Tests;
