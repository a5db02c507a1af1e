namespace AsymCdc.Grains.Tests;
