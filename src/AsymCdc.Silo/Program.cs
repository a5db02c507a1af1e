System.Console.WriteLine("asymcdc-silo");
