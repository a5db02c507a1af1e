namespace AsymCdc.Gateway.Tests;
