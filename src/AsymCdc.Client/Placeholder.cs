namespace AsymCdc.Client;
