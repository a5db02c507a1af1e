namespace AsymCdc.Hosting;
