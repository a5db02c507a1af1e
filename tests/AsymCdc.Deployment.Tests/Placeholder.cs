namespace AsymCdc.Deployment.Tests;
