namespace AsymCdc.Coding.Tests;
