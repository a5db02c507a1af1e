namespace AsymCdc.Reliability.Tests;
